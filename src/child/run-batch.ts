import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { BatchMessage, CallTask, ChildNotice, Reply } from '../protocol.js';
import { hasRetired, runTask } from './run-task.js';

/**
 * When a child stops starting the calls of a batch and sends the rest back. Batching saves a
 * tinypool round trip (~50 µs) per call; for a call that takes milliseconds that saving is noise,
 * while holding the calls behind it here would keep them from a child that may be free. Wall
 * time, because a call that waits on I/O holds the child too; the batch budget is loose because
 * on a busy machine the parent and other children take turns on the same CPUs.
 */
const slowCallMs = 1;
const batchBudgetMs = 10;
/** tinypool checks a child's heap only when a task ends; a batch that stays open checks it itself. */
const recycleAboveHeap = Number(process.env['RUN_IN_PROCESS_RECYCLE_ABOVE_HEAP']) || undefined;

interface OpenBatch {
  readonly queue: CallTask[];
  /** The parent said no more calls are coming. */
  closing: boolean;
  /** Wakes the batch waiting for more calls, or for the word to close. */
  wake: (() => void) | undefined;
}

const open = new Map<number, OpenBatch>();

/**
 * Calls the parent added to an open batch, or its word to close it. Calls for a batch that closed
 * meanwhile are dropped: the parent sends them again.
 */
export function onBatchMessage(message: BatchMessage): void {
  const batch = open.get(message[1]);
  if (!batch) return;
  if (message[0] === 'run-in-process:append') batch.queue.push(...message[2]);
  else batch.closing = true;
  batch.wake?.();
}

/**
 * Runs a batch one call at a time, each answered on its own the moment it finishes: a result
 * never waits for the rest of the batch, and when the child crashes, every call before the one
 * that crashed it has its answer already. Then waits for the parent to add calls or to close it.
 */
export async function runBatch(id: number, calls: CallTask[], notify: (notice: ChildNotice) => void): Promise<Reply> {
  const batch: OpenBatch = { queue: [...calls], closing: false, wake: undefined };
  open.set(id, batch);
  let ran = 0;
  let slow = false;
  try {
    let batchStart = performance.now();
    for (;;) {
      const call = batch.queue.shift();
      if (!call) {
        // No timer: a pending timer makes every wake-up of this process slower (~30 µs on a VM).
        if (batch.closing || !(await nextMessage(batch))) break;
        batchStart = performance.now();
        continue;
      }
      // A child that retires answers no more calls: those left are sent to another child.
      if (hasRetired()) break;
      slow = ran > 0 && performance.now() - batchStart > batchBudgetMs;
      if (slow) break;
      const callStart = performance.now();
      notify({ runInProcess: 'reply', id: call[2], reply: await runTask(call, notify) });
      ran++;
      slow = performance.now() - callStart > slowCallMs;
      if (slow || heapAboveLimit()) break;
    }
  } finally {
    open.delete(id);
  }
  return slow ? { kind: 'batched', slow } : { kind: 'batched' };
}

/** Waits for more calls (true) or for the word to close (false). */
function nextMessage(batch: OpenBatch): Promise<boolean> {
  return new Promise((resolve) => {
    batch.wake = () => {
      batch.wake = undefined;
      resolve(!batch.closing);
    };
  });
}

function heapAboveLimit(): boolean {
  return recycleAboveHeap !== undefined && getHeapStatistics().used_heap_size > recycleAboveHeap;
}
