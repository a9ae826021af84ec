import type { BatchMessage } from '../protocol.js';
import type { Queued } from './backlog.js';
import type { ChildRecord } from './child-tracker.js';
import type { PendingCall } from './pending-call.js';

let nextBatchId = 1;

/**
 * A batch task in flight (see run-batch.ts) and the child that runs it, known from its first
 * answer. Once every call sent to it is answered, the batch is idle: the child keeps it open, and
 * the parent sends the next calls straight to that child, one IPC message each way instead of a
 * tinypool task with its MessagePort relay. The parent closes an idle batch once a turn of its
 * event loop passes with no new call (child-pool.ts), so that tinypool counts the child free again.
 */
export class OpenBatch {
  readonly id = nextBatchId++;
  /**
   * The calls sent and not yet answered, in the order the child runs them. A batch can stay open
   * for as long as calls keep coming, so answered calls are not kept.
   */
  readonly unanswered: Queued[];
  child: ChildRecord | undefined;
  /** tinypool reported the task's end, or its failure, or its child is retiring: nothing more can be added. */
  closed = false;

  constructor(calls: Queued[]) {
    this.unanswered = [...calls];
  }

  /** The child answered this call: the first unanswered one, since it runs them in order. */
  answered(callId: number, child: ChildRecord): void {
    this.child ??= child;
    const index = this.unanswered.findIndex(({ call }) => call.id === callId);
    if (index >= 0) this.unanswered.splice(index, 1);
  }

  /** Its child runs this call now: calls run in the order they were sent. */
  isRunning(call: PendingCall): boolean {
    return !this.closed && this.unanswered[0]?.call === call;
  }

  /** Every call sent to it is answered, and it is still open. */
  get idle(): boolean {
    return !this.closed && this.child !== undefined && this.unanswered.length === 0;
  }

  /**
   * Sends calls straight to the child. If the child closed the batch meanwhile (after a slow call,
   * or at its call limit), it drops them; they are still unanswered when the batch's end is
   * reported, and are sent again.
   */
  append(calls: Queued[]): boolean {
    if (!this.#send(['run-in-process:append', this.id, calls.map(({ task }) => task)])) return false;
    this.unanswered.push(...calls);
    return true;
  }

  /** No more calls for it: the child ends the batch, and tinypool counts the child free. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#send(['run-in-process:close', this.id]);
  }

  #send(message: BatchMessage): boolean {
    const child = this.child?.process;
    // A closed channel: the child is dying, and the batch's failure will come.
    if (!child?.connected) return false;
    // send()'s result only says whether Node buffered the message; it is sent either way. The
    // callback takes a failed write to a dying child, which would otherwise be an 'error' event on
    // it, and crash tinypool's destroy(), which waits for the child's exit with events.once().
    child.send(message, ignoreWriteError);
    return true;
  }
}

function ignoreWriteError(): void {
  // The child is gone; the failure of its batch task says so, and what was lost is sent again.
}

/**
 * The open batches of one pool, and which batch each call was sent to until it is answered, fails,
 * or is sent again.
 */
export class OpenBatches {
  readonly #open = new Set<OpenBatch>();
  readonly #batchOf = new Map<number, OpenBatch>();

  /** A new batch for these calls, about to go to tinypool as one task. */
  start(calls: Queued[]): OpenBatch {
    const batch = new OpenBatch(calls);
    this.#open.add(batch);
    this.#remember(batch, calls);
    return batch;
  }

  /** Sends the calls to the first batch whose calls are all answered; false if there is none. */
  appendToIdle(calls: Queued[]): boolean {
    for (const batch of this.#open) if (batch.idle && this.appendTo(batch, calls)) return true;
    return false;
  }

  appendTo(batch: OpenBatch, calls: Queued[]): boolean {
    if (!batch.append(calls)) return false;
    this.#remember(batch, calls);
    return true;
  }

  /** Nothing more goes to it; answers still on their way are still matched to it (`of`). */
  forget(batch: OpenBatch): void {
    batch.closed = true;
    this.#open.delete(batch);
  }

  /** A child that is being replaced takes no more calls. */
  closeAllOf(child: ChildRecord): void {
    for (const batch of this.#open) if (batch.child === child) batch.closed = true;
  }

  of(callId: number): OpenBatch | undefined {
    return this.#batchOf.get(callId);
  }

  /** The call was answered, settled or is being sent again. */
  release(callId: number): void {
    this.#batchOf.delete(callId);
  }

  #remember(batch: OpenBatch, calls: Queued[]): void {
    for (const { call } of calls) this.#batchOf.set(call.id, batch);
  }
}
