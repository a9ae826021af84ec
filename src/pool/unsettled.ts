import type { PendingCall } from './pending-call.js';

/**
 * The calls of one scheduler that have not settled: queued, sent or running. While there are any,
 * the process is held open (workers do not keep it alive, and a waiting call must); once there are
 * none, whoever waits for the pool to drain is told.
 */
export class Unsettled implements Iterable<PendingCall> {
  readonly #calls = new Set<PendingCall>();
  /** One timer for the pool's life, ref'd and unref'd: cheaper than one per call. */
  #keepAlive: NodeJS.Timeout | undefined;
  #drained: (() => void) | undefined;

  get size(): number {
    return this.#calls.size;
  }

  [Symbol.iterator](): Iterator<PendingCall> {
    return this.#calls[Symbol.iterator]();
  }

  add(call: PendingCall): void {
    if (this.#calls.size === 0) {
      this.#keepAlive ??= setInterval(() => {}, 1 << 30);
      this.#keepAlive.ref();
    }
    this.#calls.add(call);
  }

  delete(call: PendingCall): void {
    this.#calls.delete(call);
    if (this.#calls.size > 0) return;
    this.#keepAlive?.unref();
    this.#drained?.();
  }

  /** Settles once no call is left; the timer is then gone for good. */
  drained(): Promise<void> {
    const done = this.#calls.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.#drained = resolve));
    return done.then(() => clearInterval(this.#keepAlive));
  }
}
