import type { BatchMessage } from '../protocol.js';
import type { Queued } from './backlog.js';
import type { ChildRecord } from './child-tracker.js';

let nextBatchId = 1;

/**
 * A batch task in flight (see run-batch.ts): the calls sent to it that wait for their answer, in
 * the order the child runs them, and the child that runs it, known from its first answer. Once every call sent to it is
 * answered, the batch is idle: the child keeps it open for a moment, and the parent sends the
 * next calls straight to that child, which costs one IPC message each way instead of a tinypool
 * task with its MessagePort relay.
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
    // A closed channel: the child is dying, and the batch's failure will come. (send() would emit
    // an 'error' on the child, which tinypool takes for the child's own.)
    if (!child?.connected) return false;
    // Its result only says whether Node buffered the message; it is sent either way. A write that
    // fails because the child is dying is reported to the callback: without one it would become an
    // 'error' event on the child, which tinypool does not expect while it stops the child.
    child.send(message, ignoreWriteError);
    return true;
  }
}

function ignoreWriteError(): void {
  // The child is gone; the failure of its batch task says so, and what was lost is sent again.
}
