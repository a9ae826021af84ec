import { wallNow } from '../shared/real-clock.js';
/**
 * Requests to stop a job that reached a worker before the job did. A caller that aborts a call
 * while its job is being added removes the job from the queue and asks the worker holding it to
 * stop it; a worker may take the job between the two, and hear the request before its processor has
 * the job in hand. Each worker hears every request (Redis pub/sub), so each keeps them a while, a
 * bounded number: a job taken within that while is answered as stopped, unrun.
 */
export class EarlyStops {
  readonly #since = new Map<string, number>();

  constructor(
    /** How long a request is kept: as long as a job may take to be taken after it was added. */
    private readonly keepMs: number,
    private readonly most = 10_000,
  ) {}

  note(jobId: string): void {
    this.#forgetOld();
    if (this.#since.size >= this.most) this.#since.delete(this.#since.keys().next().value!);
    this.#since.set(jobId, wallNow());
  }

  /** Whether the job was asked to stop before it came; the request is used up. */
  take(jobId: string): boolean {
    if (this.#since.size === 0) return false;
    this.#forgetOld();
    return this.#since.delete(jobId);
  }

  #forgetOld(): void {
    const oldest = wallNow() - this.keepMs;
    for (const [jobId, at] of this.#since) {
      if (at >= oldest) break;
      this.#since.delete(jobId);
    }
  }
}
