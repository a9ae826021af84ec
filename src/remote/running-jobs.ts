import { AbortError, RunInProcessError } from '../errors.js';
import type { MadeCall } from '../pool/scheduler.js';
import { EarlyStops } from './early-stops.js';
import type { ReleaseGate } from './release-gate.js';
import { sleep } from '../shared/real-clock.js';

/**
 * The jobs a worker holds, and the calls each made in its local pool. A caller that gave up on a
 * job has its calls stopped (their children killed); at close(), jobs none of whose calls went to
 * a child yet go back to the queue, for another worker to take now, rather than wait here for the
 * calls before them, or fail unrun at the shutdown's deadline.
 */
export class RunningJobs {
  readonly #calls = new Map<string, Set<MadeCall>>();
  /** The gates of jobs whose calls are handed to the pool a window at a time (release-gate.ts). */
  readonly #gates = new Map<string, ReleaseGate>();
  /** Jobs given back unrun (handBack()): their processor moves them back to waiting. */
  readonly #handedBack = new Set<string>();
  readonly #earlyStops: EarlyStops;

  /** `keepStopsMs`: how long a request to stop a job not held yet is kept (early-stops.ts). */
  constructor(keepStopsMs: number) {
    this.#earlyStops = new EarlyStops(keepStopsMs);
  }

  /** A job taken: the set its calls join as they are made, and leave as they settle. */
  begin(jobId: string): Set<MadeCall> {
    const calls = new Set<MadeCall>();
    this.#calls.set(jobId, calls);
    return calls;
  }

  /** The job's calls go to the pool through `gate`: stopped or handed back, it lets no more go. */
  gate(jobId: string, gate: ReleaseGate): ReleaseGate {
    this.#gates.set(jobId, gate);
    return gate;
  }

  end(jobId: string): void {
    this.#calls.delete(jobId);
    this.#gates.delete(jobId);
  }

  /** Whether the job's caller asked to stop it before its calls were made; the request is used up. */
  stoppedEarly(jobId: string): boolean {
    return this.#earlyStops.take(jobId);
  }

  /** Whether the job was handed back (by handBack()); asked once, as its processor ends. */
  takeHandedBack(jobId: string): boolean {
    return this.#handedBack.delete(jobId);
  }

  /** A caller asked to stop the job: its calls fail, or, not made yet, its processor finds the request. */
  stop(jobId: string): void {
    const calls = this.#calls.get(jobId);
    // Not held yet, its calls not made yet, or being handed back (its calls failed already).
    if (!calls || calls.size === 0 || this.#handedBack.has(jobId)) this.#earlyStops.note(jobId);
    // One error each: a worker adds its name to each error's message as it answers (job-runner.ts withWorker).
    const stopped = () =>
      new AbortError(`Job ${jobId} was stopped on a request to stop it (its caller aborted it, or timed it out).`);
    this.#gates.get(jobId)?.stop(stopped);
    for (const call of calls ?? []) call.fail(stopped());
  }

  /**
   * At close(), with another worker alive: jobs none of whose calls went to a child are handed back.
   * Not one of which a call has settled, which leaves the set: a job whose calls go a window at a
   * time (release-gate.ts) may have run its first while the next waits here, and the worker that
   * takes it back would run them all again.
   */
  handBack(): void {
    for (const [jobId, calls] of this.#calls) {
      if (calls.size === 0 || this.#gates.get(jobId)?.anySettled || [...calls].some((call) => call.sent)) continue;
      this.#handedBack.add(jobId);
      const unrun = () => new RunInProcessError(`Job ${jobId} was handed back unrun.`);
      this.#gates.get(jobId)?.stop(unrun);
      for (const call of calls) call.fail(unrun());
    }
  }

  /** Resolves once no job is held here. */
  async idle(): Promise<void> {
    while (this.#calls.size > 0) await sleep(50);
  }
}
