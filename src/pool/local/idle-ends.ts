import { perfNow } from '../../shared/real-clock.js';
/**
 * Children of a pool that ended by themselves while they ran no call (code in them that exits, or
 * throws from a timer, once it has loaded). tinypool starts another at once to keep `minChildren`:
 * with children that all end that way, about 15 a second for good, with no call made. From the
 * third such end within 10 s, the pool stops keeping its minimum for a while (the transport's
 * #idleCrashed): 1 s, doubling up to 30 s while it goes on; a minute without such an end starts
 * the doubling again.
 */
export class IdleEnds {
  #at: number[] = [];
  #pause = 0;

  /** How many ended in the last 10 s, as of the last end. */
  get recent(): number {
    return this.#at.length;
  }

  /**
   * A child ended: how long to pause the minimum now (ms), if the ends call for a pause and one can
   * begin (`canPause`: none under way, a minimum to keep, the pool not closing).
   */
  ended(canPause: boolean, now = perfNow()): number | undefined {
    if (now - (this.#at.at(-1) ?? Number.NEGATIVE_INFINITY) > 60_000) this.#pause = 0;
    this.#at = this.#at.filter((at) => now - at < 10_000);
    this.#at.push(now);
    if (this.#at.length < 3 || !canPause) return undefined;
    this.#pause = Math.min(Math.max(1_000, this.#pause * 2), 30_000);
    return this.#pause;
  }
}
