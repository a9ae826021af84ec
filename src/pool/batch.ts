import { getRandomValues } from 'node:crypto';
import type { PendingCall } from './pending-call.js';

/**
 * Batch ids cannot be guessed: a child speaks for a batch by its id, and the first child to name a
 * batch holds it (local/tinypool-transport.ts). With ids in sequence, a hostile child could name
 * the next batch before the sibling that got it, and answer that sibling's calls.
 */
const random = new Uint32Array(512);
let unused = 0;

function unguessableId(): number {
  if (unused === 0) {
    getRandomValues(random);
    unused = random.length;
  }
  unused -= 2;
  // 52 bits: a safe integer, and a positive one.
  return (random[unused]! & 0xfffff) * 2 ** 32 + random[unused + 1]! + 1;
}

/**
 * A batch as the scheduler sees it: the calls sent in it and not yet answered, in the order its
 * worker runs them. A batch kept open whose calls are all answered is idle: its worker waits for
 * more, and the next calls go straight to it (scheduler.ts) until the scheduler closes it.
 */
export class Batch {
  readonly id = unguessableId();
  /** Answered calls are not kept: a batch can stay open for as long as calls keep coming. */
  readonly unanswered: PendingCall[];
  /** Its worker has taken it: it started or answered a call. */
  started = false;
  /** Nothing more can be added: the scheduler closed it, or it ended or was lost. */
  closed = false;
  /**
   * Set when the scheduler closed it: clears the timer that fires if its worker never ends it. (A
   * function, not the timer: the published types reach this class, and must not need Node's.)
   */
  clearOverdue: (() => void) | undefined;
  /** When its last call was answered (`perfNow()`), for a batch that lingers open (scheduler.ts). */
  idleSince = 0;
  /** Its linger timer is set: one at a time, however many calls come and go meanwhile. */
  lingering = false;

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

  /** Every call sent to it is answered, and its worker waits for more. */
  get idle(): boolean {
    return this.keepOpen && this.started && !this.closed && this.unanswered.length === 0;
  }
}

/** The batches of one scheduler that are in flight (sent, not yet ended or lost), and which of them are idle. */
export class Batches {
  readonly #inFlight = new Map<number, Batch>();
  /** Open batches whose worker waits for more calls. */
  readonly #idle = new Set<Batch>();

  /** How many are in flight: each holds one slot of the transport's capacity. */
  get count(): number {
    return this.#inFlight.size;
  }

  start(calls: PendingCall[], keepOpen: boolean, exclusive: boolean): Batch {
    const batch = new Batch(calls, keepOpen, exclusive);
    this.#inFlight.set(batch.id, batch);
    return batch;
  }

  get(id: number): Batch | undefined {
    return this.#inFlight.get(id);
  }

  idle(): Iterable<Batch> {
    return this.#idle;
  }

  /**
   * How many hold a call that is not answered yet: their workers are busy. The others are idle, or
   * ending (all answered, the end not heard yet), and their workers are about to take more.
   */
  get runningCount(): number {
    let running = 0;
    for (const batch of this.#inFlight.values()) if (batch.unanswered.length > 0) running++;
    return running;
  }

  /**
   * How many are closing with every call answered (closed, or sent to end after their calls: a call
   * that went alone): their workers are free once they have said they ended them.
   */
  get endingCount(): number {
    let ending = 0;
    for (const batch of this.#inFlight.values())
      if ((batch.closed || !batch.keepOpen) && batch.unanswered.length === 0) ending++;
    return ending;
  }

  /** Its worker waits for more calls. */
  waiting(batch: Batch): void {
    this.#idle.add(batch);
  }

  /** It has calls again, or is closing. */
  busy(batch: Batch): void {
    this.#idle.delete(batch);
  }

  /** The batch is over: nothing more goes to it, its slot is free, and its calls are no longer in it. */
  finish(id: number): Batch | undefined {
    const batch = this.#inFlight.get(id);
    if (!batch) return undefined;
    this.#inFlight.delete(id);
    this.#idle.delete(batch);
    batch.closed = true;
    batch.clearOverdue?.();
    for (const call of batch.unanswered) call.batch = undefined;
    return batch;
  }
}
