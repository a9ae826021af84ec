import { performance } from 'node:perf_hooks';
import type { CallTask, ChildNotice, Reply } from '../protocol.js';
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

/**
 * Runs a batch one call at a time, each answered on its own the moment it finishes: a result
 * never waits for the rest of the batch, and when the child crashes, every call before the one
 * that crashed it has its answer already.
 */
export async function runBatch(calls: CallTask[], notify: (notice: ChildNotice) => void): Promise<Reply> {
  const batchStart = performance.now();
  let callStart = batchStart;
  for (let index = 0; index < calls.length; index++) {
    const now = performance.now();
    const slow = index > 0 && (now - callStart > slowCallMs || now - batchStart > batchBudgetMs);
    // A child that retires answers no more calls: those left are sent to another child.
    if (slow || hasRetired()) return { kind: 'batched', unstarted: calls.length - index };
    callStart = now;
    const call = calls[index]!;
    notify({ runInProcess: 'reply', id: call[2], reply: await runTask(call, notify) });
  }
  return { kind: 'batched', unstarted: 0 };
}
