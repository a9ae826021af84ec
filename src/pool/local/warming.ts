/** Who waits for a number of children to be ready (`warmUp()`), told when they are or when none can start. */
export class Warming {
  readonly #waiting: Array<{ count: number; resolve: () => void; reject: (error: Error) => void }> = [];
  #failure: Error | undefined;

  constructor(private readonly readyCount: () => number) {}

  /** Why no child can start (or the pool was shut down), once that is known. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** `first`: told before those already waiting (their continuations then run after its own). */
  until(count: number, first = false): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.readyCount() >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (first) this.#waiting.unshift({ count, resolve, reject });
      else this.#waiting.push({ count, resolve, reject });
    });
  }

  /** A child became ready. */
  check(): void {
    const ready = this.readyCount();
    for (const waiter of [...this.#waiting]) {
      if (ready < waiter.count) continue;
      this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  /** A child failed to boot: whoever waits now is told, and a later warm-up may try again. */
  failWaiting(error: Error): void {
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
  }

  fail(error: Error): void {
    this.#failure = error;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
  }
}
