import { writeSync as writeToStderr } from 'node:fs';
import { encodeThrown } from '../codec/thrown-encode.js';
import {
  BatchSlot,
  type ChildNotice,
  isBatchControl,
  preloadArgument,
  channelClosedCode,
  exitedOutsideCallsCode,
  untoldFatalExitCode,
  type Task,
  type TaskResult,
  TaskResultSlot,
} from '../protocol.js';
import { processState } from '../shared/process-state.js';
import { CallRunner } from './call-runner.js';
import { compiledEagerly } from './eager-compile.js';
import { importModule } from './module-cache.js';
import { learnTargetsOf } from './target-keys.js';
import { exitWithParent } from './orphan-watchdog.js';
import { onBatchControl, runBatch } from './run-batch.js';
import { closeInheritedDescriptors } from './inherited-descriptors.js';
import { readControl } from './control-pipe.js';
import { isPipeLost, sendNotice } from './notice-pipe.js';
import { warmUp } from './warm-up.js';
import { sealSandbox } from './sandbox-seal.js';
import { setImmediate, setTimeout } from '../shared/real-clock.js';

/**
 * The file tinypool loads in each child. It marks the process as a child before any user module
 * is imported, so that decorated code runs inline here and `isChildProcess()` is true. It imports
 * only what runs in a child: no pool, no tinypool (beyond the entry tinypool itself wraps it in).
 */
processState.isChild = true;
/** It said its last words (the parent knows why it ends), or ends on a path of the runner's own. */
let lastWordsSaid = false;
/** It took a task from tinypool: it booted. */
let tookTasks = false;
sealSandbox();
// tinypool's listener, through which this child hears of its tasks: the last registered before this
// file loaded (keepHearingTasks). Taken before any code of the pool's (its preload) runs here.
const tinypoolListener = process.rawListeners('message').at(-1) as ((...args: unknown[]) => void) | undefined;
closeInheritedDescriptors();
writeOutputAtOnce();
// Its code closed the IPC channel (process.disconnect()), and it ends: the calls it runs go with it,
// and says which, so that a call sent to it meanwhile goes to another child, not failed for this.
const watchdogStarted = exitWithParent(() => {
  lastWordsSaid = true;
  const closed = Object.assign(new Error('code in the child closed its IPC channel (process.disconnect())'), {
    code: channelClosedCode,
  });
  sendNotice(['run-in-process:fatal', encodeThrown(closed), [...runner.runningCalls]]);
});
// SIGUSR1 would open this child's inspector on a port any local process can reach; a sandboxed
// sibling could send it and then run code here, outside its seat belt. Nobody can debug a child
// that way anyway: the parent's inspector flags are never passed on.
process.on('SIGUSR1', () => {});

const runner = new CallRunner();

/**
 * The child's stdout and stderr are sockets to the parent, which Node writes to asynchronously:
 * what the code printed would wait in this process's memory, and be lost when the child is stopped
 * (shutdown(), a timeout) or exits (the end of a crash report). Written at once, as Node writes to
 * a file or a pipe, it reaches the parent; a parent that reads slowly makes the child wait, as a
 * pipe would.
 */
function writeOutputAtOnce(): void {
  for (const stream of [process.stdout, process.stderr]) {
    (stream as { _handle?: { setBlocking?: (blocking: boolean) => void } })._handle?.setBlocking?.(true);
  }
}

const notify = sendNotice;

/**
 * A child that retired (its call limit, its heap limit, a module that failed to load) starts no
 * more calls, but lets those it runs in other batches finish (callsPerChild above 1): killing it
 * would lose them, or run them again elsewhere. Once none runs, it leaves by itself, its last words
 * (`leaving`: nothing of its runs) written after the ends of its batches, in order on the channel.
 */
let running = 0;

function leaveIfDone(): void {
  // One that threw outside any call exits with its error (reportAndExit), not as a child that retired.
  if (!runner.retired || running > 0 || threwOutsideCalls) return;
  // After this turn, in which tinypool writes the end of the batch that just finished.
  setImmediate(() => {
    lastWordsSaid = true; // `leaving`: it ran nothing.
    const exit = () => process.exit(0);
    // A parent that no longer reads (the pipe full) must not keep it here.
    setTimeout(exit, 1_000).unref();
    if (process.send) process.send(['run-in-process:leaving'] satisfies ChildNotice, exit);
    else exit();
  });
}

/**
 * How long a retired child keeps a batch that reaches it before it hands it back unrun: tinypool
 * gives a child whose slot frees up the next batch at once, and would otherwise bounce batches off
 * it as fast as IPC goes while its last calls run.
 */
const handBackAfterMs = 10;

// An error thrown outside any call (a timer, an unhandled rejection) would end this child with only
// "exited unexpectedly" to show for it: send the real error first, then exit as Node would have.
// When the user's code handles such errors itself, it decides, as it would outside a child.
let threwOutsideCalls = false;
const reportAndExit = (error: Error): void => {
  if (process.listenerCount('uncaughtException') > 1) return;
  threwOutsideCalls = true;
  lastWordsSaid = true;
  // It starts no more calls, and says which ran as it was thrown: a call sent to it meanwhile goes to
  // another child, not failed for an error that was not its own (a timer left by a call that has
  // answered, a tracing subscriber's throw).
  const callsRunning = [...runner.runningCalls];
  runner.retire();
  const exit = () => process.exit(untoldFatalExitCode);
  // Not told (code here broke what telling needs: process.send, a global the encoder uses): said on
  // stderr at least, whose tail the parent's ProcessCrashedError shows.
  const untold = () => {
    sayOnStderr(error);
    exit();
  };
  setTimeout(untold, 1_000).unref();
  try {
    if (process.send === undefined) untold();
    else process.send(['run-in-process:fatal', encodeThrown(error), callsRunning] satisfies ChildNotice, exit);
  } catch {
    untold();
  }
};
process.on('uncaughtException', reportAndExit);

/**
 * Code here that ends the process outside any call (process.exit() in a timer after its call
 * answered, or an event loop left with nothing to do, as after process.channel.unref()) would have
 * the call sent to it meanwhile, which it never started, failed as crashed: an innocent caller's.
 * It says as it exits that it ran none, and the parent sends that call to another child. Ended
 * inside a call, the call it ran is the one that crashed, as the parent takes it without a word.
 */
process.on('exit', (code) => {
  // Before its first task it was booting: its boot failed, which the parent tells as such.
  if (lastWordsSaid || !tookTasks || runner.runningCalls.size > 0) return;
  const ended = Object.assign(new Error(`code in the child ended it outside any call, with exit code ${code}`), {
    code: exitedOutsideCallsCode,
  });
  try {
    sendNotice(['run-in-process:fatal', encodeThrown(ended), []]);
  } catch {
    // The pipe is gone (the parent with it): nobody to tell.
  }
});

/** What the parent's crash report needs of an error the IPC channel could not carry. */
function sayOnStderr(error: unknown): void {
  let text: string;
  try {
    text = String((error as Error | undefined)?.stack ?? error);
  } catch {
    text = 'a value that cannot be shown';
  }
  try {
    writeToStderr(2, `run-in-process: this child threw outside any call, and could not tell its parent: ${text}\n`);
  } catch {
    // Its stderr is closed: the exit code alone says it.
  }
}

// The pool's `preload` modules, imported before tinypool hears that this child is ready, into the
// cache that calls import from (a first call then does not resolve its module again).
const preloadAt = process.argv.indexOf(preloadArgument);
const preload = preloadAt < 0 ? [] : (JSON.parse(process.argv[preloadAt + 1] ?? '[]') as string[]);
if (preload.length > 0)
  await compiledEagerly(async () => {
    for (const module of preload) {
      try {
        await importModule(module);
        learnTargetsOf(module);
      } catch (error) {
        lastWordsSaid = true;
        const notice: ChildNotice = ['run-in-process:preload-failed', module, encodeThrown(error)];
        await new Promise((resolve) => process.send?.(notice, resolve) ?? resolve(undefined));
        process.exit(78);
      }
    }
  });

// What the parent says about open batches comes on the control pipe, or on the IPC channel beside
// tinypool's own messages where there is no such pipe.
readControl();
const controlListener = (message: unknown): void => {
  if (isBatchControl(message)) onBatchControl(message);
};
process.on('message', controlListener);

/**
 * Code in the child that removes the process's 'message' listeners (`removeAllListeners('message')`,
 * a library resetting the process) would leave the child taking no task again, and calls sent to it
 * waiting for ever: tinypool's and the one above are put back as each batch ends, when no listener
 * is left (code that wraps them, or adds its own, is left as it is: putting one back beside its
 * wrapper would run each batch twice).
 */
function keepHearingTasks(): void {
  if (process.listenerCount('message') > 0) return;
  if (tinypoolListener) process.on('message', tinypoolListener);
  process.on('message', controlListener);
}

export default function run(task: Task): Promise<TaskResult> | TaskResult {
  tookTasks = true;
  if (task[0] !== 'batch') return task[0] === 'warm' ? warmUp(watchdogStarted) : ['woken'];
  const id = task[BatchSlot.id];
  // A batch that reaches a retired child is handed back unrun: its calls go to another child.
  if (runner.retired)
    return new Promise((resolve) => setTimeout(() => resolve(ended(id, ['batch-end', false])), handBackAfterMs));
  running++;
  return runBatch(task, runner, notify)
    .then((result) => ended(id, result))
    .catch((error: unknown) => {
      // Its exit, with the reason said on the IPC channel, is under way: that is what the parent
      // should hear, not this batch's failure first.
      if (isPipeLost(error)) return new Promise<never>(() => {});
      throw error;
    })
    .finally(() => {
      running--;
      leaveIfDone();
    });
}

/** Says the batch ended, after its answers, before tinypool carries its result: the parent waits for both. */
function ended(id: number, result: TaskResult): TaskResult {
  keepHearingTasks();
  if (result[0] !== 'batch-end') return result;
  notify(['run-in-process:ended', id, result[TaskResultSlot.slow]]);
  return ['batch-end', result[TaskResultSlot.slow], id];
}
