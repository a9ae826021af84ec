import { getHeapStatistics } from 'node:v8';
import {
  type Answer,
  BatchSlot,
  CallSlot,
  ControlSlot,
  type BatchControl,
  type BatchTask,
  type CallTask,
  type ChildNotice,
  type TaskResult,
} from '../protocol.js';
import { messageOf } from '../codec/describe-thrown.js';
import { SerializationError } from '../errors.js';
import type { CallRunner } from './call-runner.js';
import { thrownAnswer } from './answers.js';
import { isPipeLost } from './notice-pipe.js';
import { steerStream } from './stream-runner.js';
import { perfNow } from '../shared/real-clock.js';

/**
 * When a child stops starting the calls of a batch and sends the rest back. Batching saves a
 * tinypool round trip (~50 µs) per call; for a call that takes milliseconds that saving is noise,
 * while holding the calls behind it here would keep them from a child that may be free. Wall
 * time, because a call that waits on I/O holds the child too; the batch budget is loose because
 * on a busy machine the parent and other children take turns on the same CPUs.
 */
const slowCallMs = 1;
const batchBudgetMs = 10;

/** A batch this child is running: the calls it has yet to start, and whether more may come. */
interface RunningBatch {
  readonly queue: CallTask[];
  /** The parent said no more calls are coming (or never would: a batch not kept open). */
  closing: boolean;
  /** Wakes the batch waiting for more calls, or for the word to close. */
  wake: (() => void) | undefined;
}

const running = new Map<number, RunningBatch>();

/**
 * Calls the parent added to an open batch, or its word to close it. Calls for a batch that closed
 * meanwhile are dropped: the parent sends them again.
 */
export function onBatchControl(message: BatchControl): void {
  if (message[0] === 'run-in-process:steer') {
    steerStream(message[ControlSlot.batch], message[ControlSlot.call], message[ControlSlot.steer]);
    return;
  }
  const batch = running.get(message[ControlSlot.batch]);
  if (!batch) return;
  if (message[0] === 'run-in-process:append') batch.queue.push(...message[ControlSlot.calls]);
  else batch.closing = true;
  batch.wake?.();
}

/**
 * Runs a batch one call at a time, each answered on its own the moment it finishes: a result
 * never waits for the rest of the batch, and when the child crashes, every call before the one
 * that crashed it has its answer already. Then, if kept open, waits for the parent to add calls or
 * to close it.
 */
export async function runBatch(
  task: BatchTask,
  runner: CallRunner,
  notify: (notice: ChildNotice) => void,
): Promise<TaskResult> {
  const id = task[BatchSlot.id];
  const batch: RunningBatch = {
    queue: [...task[BatchSlot.calls]],
    closing: !task[BatchSlot.keepOpen],
    wake: undefined,
  };
  runner.settings = task[BatchSlot.settings] ?? {};
  running.set(id, batch);
  // Its calls come on the IPC channel once the parent knows which child runs it.
  if (batch.queue.length === 0) notify(['run-in-process:opened', id]);
  try {
    return ['batch-end', await runCalls(id, batch, runner, notify)];
  } finally {
    running.delete(id);
  }
}

/** Runs calls until the batch closes, and says whether it stopped early for a slow call. */
async function runCalls(id: number, batch: RunningBatch, runner: CallRunner, notify: (notice: ChildNotice) => void) {
  let ran = 0;
  let batchStart = perfNow();
  for (;;) {
    const call = batch.queue.shift();
    if (!call) {
      // No timer: a pending timer makes every wake-up of this process slower (~30 µs on a VM).
      if (batch.closing || !(await nextMessage(batch))) return false;
      batchStart = perfNow();
      continue;
    }
    // A child that retires answers no more calls: those left are sent to another child.
    if (runner.retired) return false;
    if (ran > 0 && perfNow() - batchStart > batchBudgetMs) return true;
    const callStart = perfNow();
    sendAnswer(notify, id, call[CallSlot.id], await runner.run(call, id, notify));
    ran++;
    // Checked here rather than by tinypool after a task: tinypool would stop the child at once,
    // with the calls of its other batches still running (callsPerChild above 1).
    if (!runner.retired && heapAbove(runner.settings.recycleAboveHeapBytes)) runner.retire();
    if (runner.retired) {
      // Said before the batch ends, so the parent sends it nothing more (child/runner.ts: it leaves
      // once the calls it runs in other batches are answered).
      notify(['run-in-process:retiring']);
      return false;
    }
    if (perfNow() - callStart > slowCallMs) return true;
  }
}

/**
 * A value sent as it is (a typed array) is written with the answer: one whose own getters throw
 * (a subclass's `byteLength`, say) fails there. That call fails with a SerializationError at
 * `result`, as for any value that cannot be sent, and the child goes on; a pipe that is lost is not
 * the answer's fault.
 */
function sendAnswer(notify: (notice: ChildNotice) => void, batch: number, call: number, answer: Answer): void {
  try {
    notify(['run-in-process:answer', batch, call, answer]);
  } catch (error) {
    if (isPipeLost(error)) throw error;
    const refused = new SerializationError(
      `Cannot send result back to the parent process: writing it threw: ${messageOf(error)}. Only structured-clone ` +
        `data crosses a process boundary; return plain data instead.`,
      'result',
      { cause: error },
    );
    notify(['run-in-process:answer', batch, call, thrownAnswer(refused, 'send')]);
  }
}

/** Waits for more calls (true) or for the word to close (false). */
function nextMessage(batch: RunningBatch): Promise<boolean> {
  return new Promise((resolve) => {
    batch.wake = () => {
      batch.wake = undefined;
      resolve(!batch.closing);
    };
  });
}

/** tinypool checks a child's heap only when a task ends; a batch that stays open checks it itself. */
function heapAbove(limit: number | undefined): boolean {
  return limit !== undefined && getHeapStatistics().used_heap_size > limit;
}
