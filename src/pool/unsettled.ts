import type { PendingCall } from './pending-call.js';
import { clearInterval, setInterval } from '../shared/real-clock.js';

/**
 * The calls of one scheduler that have not settled: queued, sent or running. While there are any,
 * the process is held open (workers do not keep it alive, and a waiting call must), but for
 * streams that nobody waits on; once there are none, whoever waits for the pool to drain is told.
 */
export class Unsettled implements Iterable<PendingCall> {
  readonly #calls = new Set<PendingCall>();
  /** Streams that nobody waits on now (no `next()` pending): like a suspended local generator, they hold nothing. */
  readonly #released = new Set<PendingCall>();
  /** One timer for the pool's life, ref'd and unref'd: cheaper than one per call. */
  #keepAlive: NodeJS.Timeout | undefined;
  #holding = false;
  #drained: (() => void) | undefined;

  get size(): number {
    return this.#calls.size;
  }

  [Symbol.iterator](): Iterator<PendingCall> {
    return this.#calls[Symbol.iterator]();
  }

  add(call: PendingCall): void {
    this.#calls.add(call);
    this.#holdIfAny();
  }

  delete(call: PendingCall): void {
    this.#calls.delete(call);
    this.#released.delete(call);
    this.#holdIfAny();
    if (this.#calls.size === 0) this.#drained?.();
  }

  /** A stream's consumer waits for it (true), or does not (false). */
  hold(call: PendingCall, held: boolean): void {
    if (!this.#calls.has(call)) return;
    if (held) this.#released.delete(call);
    else this.#released.add(call);
    this.#holdIfAny();
  }

  isReleased(call: PendingCall): boolean {
    return this.#released.has(call);
  }

  /** Only on a change: a call that comes or goes among others touches no timer. */
  #holdIfAny(): void {
    const hold = this.#calls.size > this.#released.size;
    if (hold === this.#holding) return;
    this.#holding = hold;
    if (hold) {
      this.#keepAlive ??= setInterval(() => {}, 1 << 30);
      this.#keepAlive.ref();
    } else this.#keepAlive?.unref();
  }

  /** Settles once no call is left; the timer is then gone for good. */
  drained(): Promise<void> {
    const done = this.#calls.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.#drained = resolve));
    return done.then(() => clearInterval(this.#keepAlive));
  }
}
