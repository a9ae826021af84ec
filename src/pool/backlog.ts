import type { CallTask } from '../protocol.js';
import type { PendingCall } from './pending-call.js';

export interface Queued {
  readonly call: PendingCall;
  readonly task: CallTask;
}

/** Batches grow to this many calls: past it, the tinypool round trip it saves is already a few percent of the batch. */
const largestBatch = 64;

/**
 * The calls waiting for a free slot in a child, and how many of them go together.
 *
 * A call that finds a slot free goes alone. The others wait here, and when a slot frees up they go
 * as one batch: one tinypool task (one MessagePort relay, one IPC write, one `memoryUsage()` read in
 * the child) for many calls, which is what tiny calls in bulk spend most of their time on.
 *
 * The batch size adapts: it doubles after a batch the child finished, and drops to what the child
 * ran after one that came back unfinished (the calls took longer than the child's budget for a
 * batch, see run-batch.ts). Slow calls therefore end up going one at a time, as if unbatched.
 */
export class Backlog {
  #queue: Queued[] = [];
  #limit = 4;

  get size(): number {
    return this.#queue.length;
  }

  push(queued: Queued): void {
    this.#queue.push(queued);
  }

  /** Calls that were sent but never started: they go first, in their order. */
  returnUnstarted(calls: Queued[]): void {
    this.#queue.unshift(...calls.filter(({ call }) => !call.settled));
  }

  /** The next batch for one free slot: no more than its share of what is waiting, if other slots are free too. */
  take(freeSlots: number): Queued[] {
    const share = Math.ceil(this.#queue.length / Math.max(1, freeSlots));
    const batch = this.#queue.splice(0, Math.min(this.#limit, share)).filter(({ call }) => !call.settled);
    return batch;
  }

  /** What a finished batch says about the calls: fast enough to batch more of them, or not. */
  learn(sent: number, unstarted: number): void {
    this.#limit = unstarted === 0 ? Math.min(largestBatch, this.#limit * 2) : Math.max(1, sent - unstarted);
  }
}
