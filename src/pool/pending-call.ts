import { AbortError, TimeoutError } from '../errors.js';
import type { Reply } from '../protocol.js';

/**
 * One call between its submission and its single outcome. Whatever fires first (the reply, a
 * crash, the timeout, the caller's AbortSignal, a shutdown) settles it; everything later is
 * ignored. For a call that runs alone in a tinypool task, aborting `controller` tells tinypool to
 * drop the queued task or kill its child; for a call in a batch, the pool is told that it failed
 * and stops its child if it is running it (child-pool.ts).
 */
export class PendingCall {
  /** Only for a call alone in its tinypool task that can be stopped (a timeout or a signal). */
  readonly controller: AbortController | undefined;
  #settled = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #onAbort: (() => void) | undefined;

  constructor(
    readonly id: number,
    readonly label: string,
    readonly timeout: number | undefined,
    readonly signal: AbortSignal | undefined,
    /** It goes to tinypool as a task of its own, not in a batch. */
    readonly alone: boolean,
    private readonly resolveWith: (reply: Reply) => void,
    private readonly rejectWith: (error: unknown) => void,
    private readonly onSettled: (call: PendingCall, failed: boolean) => void,
  ) {
    this.controller = alone && (timeout !== undefined || signal) ? new AbortController() : undefined;
    if (signal) {
      this.#onAbort = () =>
        this.fail(new AbortError(`The call to ${label} was aborted.`, { cause: signal.reason }));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** The child took the call: only now does its timeout start, so time spent queued does not count. */
  started(): void {
    if (this.#settled || this.timeout === undefined || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.fail(
        new TimeoutError(
          `${this.label} timed out after ${this.timeout} ms; its child process was killed and will be replaced.`,
          this.timeout!,
          this.label,
        ),
      );
    }, this.timeout);
  }

  succeed(reply: Reply): void {
    if (this.#finish(false)) this.resolveWith(reply);
  }

  fail(error: unknown): void {
    if (this.#finish(true)) this.rejectWith(error);
  }

  #finish(stopChild: boolean): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    clearTimeout(this.#timer);
    if (this.#onAbort) this.signal?.removeEventListener('abort', this.#onAbort);
    if (stopChild && this.controller) {
      try {
        this.controller.abort();
      } catch {
        // tinypool asserts the task is still queued; a task it already finished is nothing to stop.
      }
    }
    this.onSettled(this, stopChild);
    return true;
  }
}
