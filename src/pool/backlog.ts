import { CallSlot } from '../protocol.js';
import { taskBytes } from './task-bytes.js';
import type { PendingCall } from './pending-call.js';

/** Batches grow to this many calls: past it, the tinypool round trip it saves is already a few percent of the batch. */
const largestBatch = 64;
/**
 * Batches stop growing at this many bytes of arguments. For large payloads the copying is the
 * cost, not the round trip, and a batch the child hands back would have been copied for nothing.
 */
export const largestBatchBytes = 256 * 1024;

/**
 * The calls waiting for a free slot in a child, and how many of them go together.
 *
 * A call that finds a child free goes to it at once. The others wait here, and go several at a
 * time: as a new batch task when a slot frees up (one MessagePort relay, one IPC write, one
 * `memoryUsage()` read in the child for many calls, which is what tiny calls in bulk spend most of
 * their time on), or straight to a child whose open batch has answered everything (batch.ts).
 *
 * The batch size adapts: it doubles each time a child answers all it was sent, and drops to one
 * when a child stops a batch early because a call was slow (run-batch.ts). Slow calls therefore go
 * one at a time, as if unbatched; once calls come back quickly again, batching resumes.
 */
/** A higher priority first; within a priority, the call made first (call ids grow). */
function goesBefore(a: PendingCall, b: PendingCall): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.task[CallSlot.id] < b.task[CallSlot.id]);
}

function order(a: PendingCall, b: PendingCall): number {
  return goesBefore(a, b) ? -1 : goesBefore(b, a) ? 1 : 0;
}

export class Backlog {
  #queue: PendingCall[] = [];
  #limit = 4;

  get size(): number {
    return this.#queue.length;
  }

  /** In priority order, FIFO within a priority: after every call of a higher priority, or made before it. */
  push(call: PendingCall): void {
    const queue = this.#queue;
    let at = queue.length;
    while (at > 0 && goesBefore(call, queue[at - 1]!)) at--;
    if (at === queue.length) queue.push(call);
    else queue.splice(at, 0, call);
  }

  /**
   * Calls that were sent but never started (a batch stopped early, a worker retired or lost) take
   * their places again: before the calls of their priority made after them, after any call of a
   * higher priority, which may have come meanwhile. Not simply first: two batches that hand calls
   * back one after the other would otherwise put the second one's low-priority calls before the
   * first one's high-priority ones (callsPerChild above 1).
   */
  returnUnstarted(calls: PendingCall[]): void {
    const back = calls.filter((call) => !call.settled).sort(order);
    const queue = this.#queue;
    if (back.length === 0) return;
    // Most often they all go before the head (nothing of a higher priority came meanwhile): one
    // move of the queue, as before priorities, and not one per call (batches of 64, queues of 10,000).
    if (queue.length === 0 || goesBefore(back[back.length - 1]!, queue[0]!)) {
      queue.unshift(...back);
      return;
    }
    const merged: PendingCall[] = [];
    let waiting = 0;
    for (const call of back) {
      while (waiting < queue.length && goesBefore(queue[waiting]!, call)) merged.push(queue[waiting++]!);
      merged.push(call);
    }
    for (; waiting < queue.length; waiting++) merged.push(queue[waiting]!);
    this.#queue = merged;
  }

  /** The call next in line goes alone (a stream, a call with a signal…): in no batch but its own. */
  get nextGoesAlone(): boolean {
    return this.#queue[0]?.alone === true;
  }

  /** Takes out the calls that `moves` says go elsewhere, in their order. */
  takeOut(moves: (call: PendingCall) => boolean): PendingCall[] {
    const out = this.#queue.filter(moves);
    if (out.length > 0) this.#queue = this.#queue.filter((call) => !moves(call));
    return out;
  }

  /** A call that settled while it waited (one that goes alone can be aborted here): it leaves at once. */
  remove(call: PendingCall): void {
    const at = this.#queue.indexOf(call);
    if (at >= 0) this.#queue.splice(at, 1);
  }

  /**
   * Whether a call of this priority made now would wait behind one already here. A call that goes
   * alone then waits here too, rather than reach a child before them (tinypool gives a freed child
   * to the task it was sent first).
   */
  holdsBefore(priority: number): boolean {
    const head = this.#queue[0];
    return head !== undefined && head.priority >= priority;
  }

  /**
   * The next batch for one free slot: no more than its share of what is waiting, if other slots are
   * free too. A call that goes alone goes in a batch of its own: it is taken alone, and ends a batch.
   */
  take(freeSlots: number): PendingCall[] {
    if (this.#queue[0]?.alone) return this.#queue.splice(0, 1).filter((call) => !call.settled);
    // At least one: with unbounded slots (a remote pool) the share would round down to none, for ever.
    const share = Math.max(1, Math.ceil(this.#queue.length / Math.max(1, freeSlots)));
    const most = Math.min(this.#limit, share);
    let count = 0;
    for (let bytes = 0; count < most; count++) {
      if (this.#queue[count]!.alone) break;
      bytes += taskBytes(this.#queue[count]!.task);
      if (count > 0 && bytes > largestBatchBytes) break;
    }
    return this.#queue.splice(0, count).filter((call) => !call.settled);
  }

  /** How many calls the next batch may hold. */
  get limit(): number {
    return this.#limit;
  }

  /** What a closed batch says about the calls: fast enough to batch more of them, or too slow to. */
  learn(slow: boolean): void {
    this.#limit = slow ? 1 : Math.min(largestBatch, this.#limit * 2);
  }
}
