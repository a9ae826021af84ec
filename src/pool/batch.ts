import type { PendingCall } from './pending-call.js';

let nextBatchId = 1;

/**
 * A batch as the scheduler sees it: the calls sent in it and not yet answered, in the order its
 * worker runs them. A batch kept open whose calls are all answered is idle: its worker waits for
 * more, and the next calls go straight to it (scheduler.ts) until the scheduler closes it.
 */
export class Batch {
  readonly id = nextBatchId++;
  /** Answered calls are not kept: a batch can stay open for as long as calls keep coming. */
  readonly unanswered: PendingCall[];
  /** Its worker has taken it: it started or answered a call. */
  started = false;
  /** Nothing more can be added: the scheduler closed it, or it ended or was lost. */
  closed = false;

  constructor(
    calls: PendingCall[],
    /** It stays open after its last call, for more calls. */
    readonly keepOpen: boolean,
    /** A call alone, which the transport can drop before it starts. */
    readonly exclusive: boolean,
  ) {
    this.unanswered = calls;
    for (const call of calls) call.batch = this;
  }

  /** The call it holds under that id, if it does, taken out of it: answered. */
  take(callId: number): PendingCall | undefined {
    const index = this.unanswered.findIndex((call) => call.id === callId);
    if (index < 0) return undefined;
    const [call] = this.unanswered.splice(index, 1);
    call!.batch = undefined;
    return call;
  }

  /** The call it holds under that id, still unanswered. */
  holds(callId: number): PendingCall | undefined {
    return this.unanswered.find((call) => call.id === callId);
  }

  add(calls: PendingCall[]): void {
    this.unanswered.push(...calls);
    for (const call of calls) call.batch = this;
  }

  /** Its worker runs this call now: calls run in the order they were sent. */
  isRunning(call: PendingCall): boolean {
    return this.started && !this.closed && this.unanswered[0] === call;
  }

  /** Every call sent to it is answered, and its worker waits for more. */
  get idle(): boolean {
    return this.keepOpen && this.started && !this.closed && this.unanswered.length === 0;
  }
}
