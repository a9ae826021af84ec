import { BatchSlot, type BatchTask, CallSlot, type CallTask } from '../../protocol.js';
import { taskBytes } from '../task-bytes.js';

/**
 * A batch is a tinypool task, and in `child_process` mode tinypool relays a task to its child
 * through a MessagePort inside this process: a structured clone of every argument before the IPC
 * channel serializes it again. For a 64 MiB Buffer that is one more 64 MiB copy held at the same
 * time, and ~20 ms (bench/analysis.md). Calls appended to an open batch skip it: they go straight
 * on the child's IPC channel. So a batch whose calls carry this much goes as a task with no calls,
 * kept open; the child says it runs it (`run-in-process:opened`), and the calls follow on its
 * channel. That costs a round trip, which a payload this size takes longer than to clone.
 */
const deferAboveBytes = 512 * 1024;

/** The task to give tinypool, and the calls to send once its child is known (none for small ones). */
export function splitLarge(task: BatchTask): { sent: BatchTask; deferred: CallTask[] | undefined } {
  const calls = task[BatchSlot.calls];
  // A stream's credit and a callback's events need the child to be known before the call starts.
  if (calls.some((call) => call[CallSlot.window] !== undefined || call[CallSlot.callbacks] !== undefined))
    return { sent: task, deferred: undefined };
  if (calls.reduce((bytes, call) => bytes + taskBytes(call), 0) < deferAboveBytes)
    return { sent: task, deferred: undefined };
  return { sent: ['batch', task[BatchSlot.id], [], true, task[BatchSlot.settings]], deferred: calls };
}
