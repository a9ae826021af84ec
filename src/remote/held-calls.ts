import type { Job } from 'bullmq';
import type { MadeCall } from '../pool/scheduler.js';
import { sealProgress } from './envelope.js';
import { clearTimeout, setTimeout } from '../shared/real-clock.js';

/**
 * A caller starts a call's timeout when a worker takes its job, and gives up on the worker a little
 * after it (its backstop, caller-transport.ts). A worker that holds a call with a timeout in its own
 * pool's queue (a `--concurrency` above its `--size`, a child still booting) tells its caller, through
 * the job's progress, that it holds it, then that it started it: the caller's backstop stops, and
 * starts again with the call. Only for such calls: a write for every call would slow every call.
 */
const heldAfterMs = 250;

export class HeldCalls {
  readonly #calls: Array<{ call: MadeCall; timed: boolean } | undefined> = [];
  readonly #held = new Set<number>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly job: Job,
    private readonly secret: string | undefined,
  ) {
    this.#timer = setTimeout(() => this.#look(), heldAfterMs);
    this.#timer.unref();
  }

  made(index: number, call: MadeCall, timeout: number | undefined): void {
    this.#calls[index] = { call, timed: timeout !== undefined };
    call.onStarted = () => {
      if (this.#held.delete(index)) this.#say(index, 'started');
    };
  }

  done(): void {
    clearTimeout(this.#timer);
  }

  #look(): void {
    this.#calls.forEach((made, index) => {
      if (!made?.timed || made.call.hasStarted || made.call.settled) return;
      this.#held.add(index);
      this.#say(index, 'held');
    });
  }

  #say(index: number, state: 'held' | 'started'): void {
    const { id = '', attemptsStarted = 1 } = this.job;
    this.job.updateProgress(sealProgress(id, index, state, attemptsStarted, this.secret)).catch(() => {});
  }
}
