/**
 * At what pace each target's calls have been settling on this worker: how many calls of a new job
 * may go to the local pool at once (release-gate.ts). A job of quick calls then goes whole, with the
 * first count it writes, not waiting for a second; a target not seen yet goes a least window first.
 *
 * A call's time counts from when it goes to the pool to its answer, its wait there included, so it
 * grows with the calls in flight: the pace is those in flight over that time (Little's law), at
 * least the pool's children over it when few are.
 */
export class CallPaces {
  /** A moving average of a call's time, ms, and the calls in flight, per target key. */
  readonly #targets = new Map<string, { ms: number | undefined; inFlight: number }>();

  sent(key: string): void {
    const target = this.#targets.get(key);
    if (target) target.inFlight++;
    else this.#targets.set(key, { ms: undefined, inFlight: 1 });
  }

  settled(key: string, ms: number): void {
    const target = this.#targets.get(key);
    if (!target) return;
    target.inFlight--;
    target.ms = target.ms === undefined ? ms : target.ms * 0.8 + ms * 0.2;
  }

  /**
   * The calls that settle in `paceMs` at the pace of the slowest of `keys`, on a pool of `children`;
   * undefined when one of them has not settled a call yet.
   */
  callsIn(paceMs: number, keys: readonly string[], children: number): number | undefined {
    let calls = Number.POSITIVE_INFINITY;
    for (const key of keys) {
      const target = this.#targets.get(key);
      if (target?.ms === undefined) return undefined;
      calls = Math.min(calls, (paceMs * Math.max(children, target.inFlight)) / Math.max(target.ms, 0.01));
    }
    return Math.ceil(calls);
  }
}
