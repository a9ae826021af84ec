import type { Value } from '../protocol.js';
import { clearTimeout, setTimeout } from '../shared/real-clock.js';

/**
 * The parent's side of one stream's backpressure. The child may yield as many items as the
 * consumer has asked for with `next()`, plus `window - 1`: never more than `window` items that the
 * consumer has not taken. The first `window` travel with the call; more are granted as the
 * consumer pulls, half a window at a time, so that credit costs about one message per
 * `window / 2` items, and the child is never left without credit while the consumer waits.
 */
export class StreamFlow {
  /** Items the child may yield in all, so far. */
  #granted: number;
  /** `next()` calls made: the first started the call. */
  #pulled = 1;
  #received = 0;
  readonly #batchSize: number;
  #started = false;
  #ended = false;
  /** Runs while the child has credit, from its start or its last item: `idleTimeout`. */
  #idle: NodeJS.Timeout | undefined;
  /** The idle timer keeps this process alive: not while nobody waits on the stream (hold). */
  #holds = true;

  constructor(
    readonly window: number,
    readonly idleTimeout: number | undefined,
    private readonly deliver: (item: Value) => void,
    /** Sends more credit; false when it could not be sent. */
    private readonly grant: (count: number) => boolean,
    /** The child had credit and yielded nothing for `idleTimeout` ms. */
    private readonly onIdle: () => void,
  ) {
    this.#granted = window;
    this.#batchSize = Math.max(1, Math.floor(window / 2));
  }

  /** The child started the call: from now on, a silence while it has credit counts. */
  started(): void {
    this.#started = true;
    this.#watch();
  }

  /** The consumer called `next()`. */
  pull(): void {
    if (this.#ended) return;
    this.#pulled++;
    // Below half a window owed, the child still has half a window of credit: it is not starved.
    const owed = this.#pulled + this.window - 1 - this.#granted;
    if (owed < this.#batchSize || !this.grant(owed)) return;
    this.#granted += owed;
    this.#watch();
  }

  /** False, and nothing delivered, for an item beyond the credit granted: the child broke the protocol. */
  received(item: Value): boolean {
    if (this.#ended) return true;
    if (this.#received >= this.#granted) return false;
    this.#received++;
    this.#started = true;
    this.#watch();
    this.deliver(item);
    return true;
  }

  /** The call settled, or is being stopped: no more credit, no more idle timer. */
  end(): void {
    this.#ended = true;
    clearTimeout(this.#idle);
  }

  /** Whether the idle timer keeps this process alive: only while the consumer waits for an item. */
  hold(yes: boolean): void {
    this.#holds = yes;
    if (yes) this.#idle?.ref();
    else this.#idle?.unref();
  }

  /** The idle timer restarts on each item, and runs only while the child has credit to use. */
  #watch(): void {
    if (this.idleTimeout === undefined || !this.#started || this.#ended) return;
    clearTimeout(this.#idle);
    this.#idle = this.#received < this.#granted ? setTimeout(this.onIdle, this.idleTimeout) : undefined;
    if (!this.#holds) this.#idle?.unref();
  }
}
