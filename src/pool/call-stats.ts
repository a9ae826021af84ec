import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { AbortError, isInstance, ProcessCrashedError, QueueFullError, TimeoutError } from '../errors.js';
import type { ChildCounts } from './transport.js';

/** A summary of recorded times, in milliseconds. */
export interface TimeSummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p99: number;
}

/** What `stats()` tells of a pool's calls; the children are counted by its transport. */
export interface CallCounts {
  /** Calls waiting for a child: in the parent's queue, or in the transport's. */
  queued: number;
  /** Calls sent to a child and not yet settled. */
  running: number;
  /** Calls a child answered, with a value or with the error your code threw. */
  completed: number;
  /** Calls that failed otherwise: crashes, timeouts, aborts, shutdowns, values that could not be sent. */
  failed: number;
  crashed: number;
  timedOut: number;
  aborted: number;
  /** Refused at once by `maxQueue` (QueueFullError): load shed, as opposed to calls that went wrong. */
  shed: number;
  /** With the pool option `recordTiming`: from the call to its start in a child, and from its start to its end. */
  waitTime?: TimeSummary;
  runTime?: TimeSummary;
}

/**
 * How a call ended, as `stats()` counts it: answered by its worker, or failed, and how. A remote
 * worker says how a call it could not answer failed there (remote/envelope.ts).
 */
export type Outcome = 'completed' | FailureKind;
export type FailureKind = 'failed' | 'crashed' | 'timedOut' | 'aborted' | 'shed';

/** How a call that failed with this error failed. */
export function failureOf(error: unknown): FailureKind {
  if (isInstance(error, ProcessCrashedError)) return 'crashed';
  if (isInstance(error, TimeoutError)) return 'timedOut';
  if (isInstance(error, AbortError)) return 'aborted';
  if (isInstance(error, QueueFullError)) return 'shed';
  return 'failed';
}

/** What `stats(pool)` returns. */
export interface PoolStats extends CallCounts {
  /** The pool's children: running calls, waiting for calls, booting; and how many retired (recycleAfterCalls…). */
  children: ChildCounts;
}

/**
 * The counters of one scheduler. Counting costs an increment per call; times are recorded only when
 * asked for (`recordTiming`), in histograms (perf_hooks), in microseconds.
 */
export class CallStats {
  completed = 0;
  failed = 0;
  crashed = 0;
  timedOut = 0;
  aborted = 0;
  shed = 0;
  #timing = false;
  #wait: RecordableHistogram | undefined;
  #run: RecordableHistogram | undefined;

  constructor(timing: boolean) {
    this.recordTimes(timing);
  }

  /**
   * Whether times are recorded: a pool's counters outlive the configure() that replaces its
   * scheduler, and the new options may turn timing on or off. Times recorded so far stay reported.
   */
  recordTimes(on: boolean): void {
    this.#timing = on;
    if (!on) return;
    this.#wait ??= createHistogram();
    this.#run ??= createHistogram();
  }

  settled(outcome: Outcome): void {
    if (outcome === 'completed') {
      this.completed++;
      return;
    }
    this.failed++;
    if (outcome !== 'failed') this[outcome]++;
  }

  /**
   * A call counted completed whose value could not be read in this process (a result or a stream's
   * item nested too deeply to rebuild): its caller got a SerializationError, so it failed.
   */
  unreadable(): void {
    if (this.completed === 0) return;
    this.completed--;
    this.failed++;
  }

  /** Times in ms from `perfNow()`: made, started (undefined if it never started), settled. */
  timed(madeAt: number, startedAt: number | undefined, settledAt: number): void {
    if (startedAt === undefined || !this.#timing) return;
    this.#wait?.record(microseconds(startedAt - madeAt));
    this.#run?.record(microseconds(settledAt - startedAt));
  }

  counts(queued: number, running: number): CallCounts {
    const { completed, failed, crashed, timedOut, aborted, shed } = this;
    const counts: CallCounts = { queued, running, completed, failed, crashed, timedOut, aborted, shed };
    if (this.#wait && this.#run) {
      counts.waitTime = summary(this.#wait);
      counts.runTime = summary(this.#run);
    }
    return counts;
  }
}

/** Whole microseconds from 1 to a year: a histogram throws on anything outside its range, and counting must never throw. */
function microseconds(ms: number): number {
  const us = Math.round(ms * 1000);
  return us >= 1 ? Math.min(us, longestMicroseconds) : 1;
}

const longestMicroseconds = 365 * 24 * 3600 * 1e6;

function summary(histogram: RecordableHistogram): TimeSummary {
  const count = histogram.count;
  const ms = (us: number) => (count === 0 ? 0 : us / 1000);
  return {
    count,
    min: ms(histogram.min),
    max: ms(histogram.max),
    mean: ms(histogram.mean),
    p50: ms(histogram.percentile(50)),
    p99: ms(histogram.percentile(99)),
  };
}
