import { perfNow } from '../shared/real-clock.js';
/**
 * A worker hands the calls of a job of several to its local pool a window at a time, in order, and
 * writes in the job how many it has handed over before each window goes (release-marks.ts). Should
 * the worker be lost, its caller sends again the calls beyond that count, which never ran, where it
 * once failed them all as lost: a job carries up to 64 calls, and a worker lost with one failed
 * calls that were still waiting behind the first few.
 *
 * A window is at least `minWindow` calls (twice the local pool's size keeps its children busy), or
 * as many as settle in `paceMs` at the job's own pace, or, for the first, at the pace its targets
 * have kept on this worker (call-paces.ts): a job of quick calls goes whole at once, and one of slow
 * calls a few calls at a time. The next count is written while half a window still runs, so the
 * children do not wait for Redis.
 */
export const paceMs = 100;

export class ReleaseGate {
  #released: number;
  #settled = 0;
  #writing = false;
  /** Why the calls not handed over never will be: one error each (a worker adds its name to each). */
  #refused: (() => Error) | undefined;
  readonly #startedAt: number;
  readonly #waiting: Array<{ index: number; go: () => void; refuse: (error: Error) => void }> = [];

  constructor(
    private readonly total: number,
    private readonly minWindow: number,
    firstWindow: number,
    /** Writes a count; false if it may not (the job is gone, or its caller took this worker for lost). */
    private readonly write: (count: number) => Promise<boolean>,
    /** What the calls beyond the count fail with when a write was refused or failed. */
    private readonly refusal: (reason: 'refused' | Error) => () => Error,
    /** The clock of the job's pace (a test's own, where the machine's would make the windows vary). */
    private readonly now: () => number = () => perfNow(),
  ) {
    this.#startedAt = now();
    // The first count is not waited for: if this worker dies before it reaches Redis, its caller
    // finds no count, and takes every call for run, as it did before counts were written.
    this.#released = Math.min(total, Math.max(minWindow, firstWindow));
    write(this.#released).catch(() => {});
  }

  /** Resolves once the call at `index` may go to the pool; rejects if it never may. */
  turn(index: number): Promise<void> {
    if (index < this.#released) return Promise.resolve();
    if (this.#refused) return Promise.reject(this.#refused());
    return new Promise((go, refuse) => this.#waiting.push({ index, go, refuse }));
  }

  /** Whether a call handed over has settled: it went to a child, or may have. */
  get anySettled(): boolean {
    return this.#settled > 0;
  }

  /** A call handed over has settled. */
  settled(): void {
    this.#settled++;
    this.#next();
  }

  /** Hands over nothing more (its caller stopped the job, or the worker hands it back). */
  stop(error: () => Error): void {
    this.#refuse(error);
  }

  #next(): void {
    if (this.#writing || this.#refused || this.#released >= this.total) return;
    const pace = (this.#settled / Math.max(1, this.now() - this.#startedAt)) * paceMs;
    const window = Math.max(this.minWindow, Math.ceil(pace));
    if (this.#released - this.#settled > window / 2) return;
    const count = Math.min(this.total, this.#settled + window);
    this.#writing = true;
    this.write(count).then(
      (written) => {
        this.#writing = false;
        if (!written) return this.#refuse(this.refusal('refused'));
        if (this.#refused) return;
        this.#released = count;
        for (const waiter of this.#waiting.filter((waiter) => waiter.index < count)) waiter.go();
        this.#waiting.splice(0, this.#waiting.length, ...this.#waiting.filter((waiter) => waiter.index >= count));
        this.#next();
      },
      (error: Error) => {
        this.#writing = false;
        this.#refuse(this.refusal(error));
      },
    );
  }

  #refuse(error: () => Error): void {
    if (this.#refused) return;
    this.#refused = error;
    for (const waiter of this.#waiting.splice(0)) waiter.refuse(error());
  }
}
