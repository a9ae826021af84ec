import { encodeThrown } from '../codec/thrown.js';
import { markChildProcess } from '../environment.js';
import { isBatchMessage, type ChildNotice, type Task } from '../protocol.js';
import { exitWithParent } from './orphan-watchdog.js';
import { onBatchMessage, runBatch } from './run-batch.js';
import { runTask } from './run-task.js';

/**
 * The file tinypool loads in each child. It marks the process as a child before any user module
 * is imported, so that decorated code runs inline here and `isChildProcess()` is true.
 */
markChildProcess();
exitWithParent();

const notify = (notice: ChildNotice): void => {
  process.send?.(notice);
};

// An error thrown outside any call (a timer, an unhandled rejection) would end this child with only
// "exited unexpectedly" to show for it: send the real error first, then exit as Node would have.
// When the user's code handles such errors itself, it decides, as it would outside a child.
const reportAndExit = (error: Error): void => {
  if (process.listenerCount('uncaughtException') > 1) return;
  const exit = () => process.exit(70);
  setTimeout(exit, 1_000).unref();
  try {
    process.send?.({ runInProcess: 'fatal', thrown: encodeThrown(error) } satisfies ChildNotice, exit);
  } catch {
    exit();
  }
};
process.on('uncaughtException', reportAndExit);

// What the parent says about open batches comes on the IPC channel, beside tinypool's own messages.
process.on('message', (message: unknown) => {
  if (isBatchMessage(message)) onBatchMessage(message);
});

export default function run(task: Task) {
  return task[0] === 'batch' ? runBatch(task[1], task[2], notify) : runTask(task, notify);
}
