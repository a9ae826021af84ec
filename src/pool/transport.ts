import { ChildStartupError, PoolClosedError, RunInProcessError } from '../errors.js';
import type { FailureKind } from './call-stats.js';
import type { PoolTransport } from '../options.js';
import type { Answer, BatchTask, CallTask, Emission, Steer } from '../protocol.js';

/**
 * The seam between what the pool decides and how bytes reach a process.
 *
 * The scheduler (scheduler.ts) owns the policy: which calls wait, which go together in a batch,
 * when a batch stays open, what is sent again, what times out, who is blamed for a crash, and that
 * every call settles exactly once. A transport owns the mechanism: it gets a batch of calls to a
 * worker, tells what happens to them, and stops a worker on request. It decides nothing about calls.
 *
 * Implemented by the local transport (child processes on tinypool, local/), the inline transport
 * (this process, inline-transport.ts), and meant to be implementable by a remote one: a job queue
 * with workers on other machines, where `submit` adds a job, `cancel` removes a waiting job or asks
 * the worker holding it to stop, answers arrive as results, and a worker that goes silent is a loss.
 * That is why the contract speaks of batches and workers, never of processes or pids, and why
 * `append` may always refuse.
 *
 * A call may also talk while it runs: a stream's items and a callback's events come back as
 * `emitted`, and the scheduler steers a stream (credit, stop) with `steer`. A transport that cannot
 * relay these says so (`streaming: false`), and the scheduler refuses such calls with a clear error.
 */
export interface Transport {
  /** Where its calls run, for messages about them: 'the child process', 'this process (inline mode)'. */
  readonly runsIn: string;
  /** Its calls run under Node's permission model: what they could not load or read is said so. */
  readonly sandboxed?: boolean;
  /**
   * It relays what a running call emits (`emitted`) and passes on `steer`: streamed results and
   * progress callbacks work only then.
   */
  readonly streaming: boolean;
  /** How many batches may run at once: a batch beyond it waits in the scheduler. */
  readonly capacity: number;
  /**
   * Set by a transport whose workers enforce each call's timeout themselves, and answer a call that
   * ran over with their own TimeoutError (a remote worker, which kills its child): the scheduler's
   * timer is then a backstop, this many ms later.
   */
  readonly timeoutGrace?: number;
  /**
   * Set by a transport whose workers run a batch's calls side by side (a remote worker hands them
   * to its own pool), not one after another: a call with a timeout then goes alone, so that
   * stopping it stops nothing else.
   */
  readonly runsCallsTogether?: boolean;
  /**
   * Set by a transport that cannot stop a call once it runs (inline mode, where it runs in this
   * process): no timeout applies to its calls, and nothing waits for them to start.
   */
  readonly stopsNothing?: boolean;
  /** Calls in batches submitted that no worker has taken yet, waiting inside the transport (for `stats().queued`, `maxQueue`). */
  readonly waiting: number;
  /**
   * A batch submitted now would make it start a worker: none is free, and it has room for another.
   * The scheduler then holds a batch back while one is ending, whose worker is about to be free
   * (for a local pool, a fork blocks this process's event loop for milliseconds, and the new child
   * then boots beside the call for nothing). Left out by a transport whose workers are not its own.
   */
  wouldStartWorker?(): boolean;
  /**
   * Sends a batch to some worker. What happens to it comes back through `TransportEvents`: a
   * `started` for calls that asked for it, an `answered` per call, then `ended` or `lost`, once.
   * `exclusive`: the batch must be abortable before it starts (`cancel` drops it), and gets a worker
   * of its own. `stoppable`: it may have to be stopped before its worker is known (a call with a
   * timeout that its worker does not start). `timeouts`: each call's, for a transport whose workers
   * enforce them themselves (a remote one); the scheduler enforces them in any case.
   */
  submit(batch: BatchTask, exclusive: boolean, stoppable: boolean, timeouts: ReadonlyArray<number | undefined>): void;
  /**
   * Adds calls to a batch kept open whose worker is known and still taking work; false when it
   * cannot, and then the calls were not sent. Calls that reach a worker after it closed the batch
   * are not started: they stay unanswered when it ends, and the scheduler sends them again.
   */
  append(batch: number, calls: CallTask[]): boolean;
  /**
   * Tells a call that is running in this batch to go on or to stop (a stream); false when the
   * batch's worker is not known or cannot be told, and then nothing was sent.
   */
  steer(batch: number, call: number, steer: Steer): boolean;
  /**
   * A stream's consumer waits for it (false), or not (true): a batch that runs only streams nobody
   * waits on must not keep this process alive through its worker, as a suspended local generator
   * does not. Only for a transport whose workers would hold the process while they run a batch.
   */
  release?(batch: number, released: boolean): void;
  /**
   * Stop reading what the batch's worker emits (true), or read it again (false): the promises that a
   * call's async callbacks returned here pile up past a bound, and the worker must wait for them, as
   * a stream's producer waits for its consumer. A transport whose worker cannot be held skips it.
   */
  holdEmissions?(batch: number, held: boolean): void;
  /** No more calls for this open batch: its worker ends it, and is free again. */
  close(batch: number): void;
  /** Stops a batch now: drops it if no worker has taken it, otherwise stops its worker. */
  cancel(batch: number, reason: StopReason): void;
  /**
   * Stops every worker and takes no more batches. `killAt` (a `perfNow()` time): workers
   * still alive then are killed, where a grace of its own would end later (a shutdown past its
   * deadline, whose grace is spent).
   */
  destroy(killAt?: number): Promise<void>;
  /** Its workers, for `stats()`. */
  children(): ChildCounts;
  /** Settles once the workers the pool keeps warm (at least one) are ready to take calls. */
  warmUp(): Promise<void>;
  /**
   * Settles once a worker is ready to take a batch, starting one if none is; rejects if it cannot
   * start. Left out by a transport whose workers are not its own.
   */
  workerReady?(): Promise<void>;
}

/**
 * A transport's workers: running a batch, waiting for one, booting; and how many were recycled: retired
 * at their call or heap limit, or, in an isolated pool, replaced after their call.
 */
export interface ChildCounts {
  busy: number;
  idle: number;
  starting: number;
  recycled: number;
}

/** Why the scheduler stops a batch: the call in front ran over, was aborted, was never started, or the pool closes. */
export type StopReason = 'timeout' | 'abort' | 'stuck' | 'shutdown';

/** How a batch was lost, which says what became of its unanswered calls. */
export type BatchLoss =
  /**
   * Its worker died: the first unanswered call was running and is blamed; the rest never started.
   * `allStarted`: every unanswered call may have run (a worker that runs calls side by side), and
   * each is blamed. `ran`: the worker said which calls it ran as it died; only those are blamed.
   * `startsTold`: the worker told each start it was asked to before the call ran, where its death
   * could not lose it (a pipe written synchronously): a start not told did not happen.
   * `ranIsItsWord`: `ran` is what code in the worker could forge (a local child's last words), not a
   * record kept apart from it (a remote worker's count in Redis): it can only add to the starts told.
   */
  | {
      kind: 'crashed';
      error: (label: string) => Error;
      allStarted?: boolean;
      ran?: (call: number) => boolean;
      ranIsItsWord?: boolean;
      startsTold?: boolean;
      /** Told when some call is blamed for the loss (a child whose crash then failed a call, for its warning). */
      onBlamed?: () => void;
    }
  /**
   * Its worker retired or was replaced without starting any unanswered call: all can go again.
   * `error`: what a call fails with that the worker had said it started after all (scheduler.ts).
   */
  | { kind: 'retired'; error?: (label: string) => Error }
  /** The transport was destroyed. */
  | { kind: 'closed' }
  /** The transport itself failed. */
  | { kind: 'failed'; error: unknown };

/** What a transport reports, each about a batch it was given. */
export interface TransportEvents {
  /**
   * `worker`: the worker's pid, where there is one (for tracing). `importing`: the worker first
   * imports the call's module, and tells `imported` once it has (the local transport).
   */
  started(batch: number, call: number, worker?: number, importing?: boolean): void;
  imported?(batch: number, call: number): void;
  /**
   * A call told started waits again, unrun (a remote worker holds it in its own queue, or gave it
   * back as it shut down): its timeout stops, until it is told started again. Optional: only such a
   * transport tells it.
   */
  requeued?(batch: number, call: number): void;
  /**
   * `failedAs`: the answer is an error the worker raised for it (a remote worker's child crashed,
   * timed out, was aborted), not one its code threw: counted as that failure in `stats()`.
   */
  answered(batch: number, call: number, answer: Answer, worker?: number, failedAs?: FailureKind): void;
  /** A running call sent something before its answer: a stream's item, a callback's event. */
  emitted(batch: number, call: number, emission: Emission): void;
  /**
   * When a call started and ended as its worker timed it (ms of the machine's monotonic clock,
   * shared/monotonic-clock.ts), before its answer:
   * for `recordTiming`, from a transport whose workers time calls themselves (the local one).
   */
  ran(batch: number, call: number, startedAt: number, endedAt: number): void;
  /** The batch ended normally: its unanswered calls were never started. `slow`: it stopped early after a slow call. */
  ended(batch: number, slow: boolean): void;
  lost(batch: number, loss: BatchLoss): void;
  /** No worker can start (bad flags, a broken loader): nothing submitted or to come can run. */
  broken(error: Error): void;
}

export type TransportFactory = (events: TransportEvents) => Transport;

/**
 * A transport given as a pool option (`configure(name, { transport: bullmq(…) })`), made outside
 * the pool (run-in-process/bullmq): the pool asks it for a transport when it starts.
 */
export interface TransportProvider extends PoolTransport {
  createTransport(pool: string, events: TransportEvents): Transport;
}

/** The error of a call lost with its batch when no call of it is to blame. */
export function lossError(loss: Extract<BatchLoss, { kind: 'closed' | 'failed' }>, label: string): Error {
  if (loss.kind === 'closed')
    return new PoolClosedError(`The pool was shut down before ${label} finished.`, { mayHaveRun: true });
  // A child that could not be started (pool/local/child-fork.ts) fails the calls it was for as such.
  if (loss.error instanceof ChildStartupError) {
    const { message, exitCode, signal, stderr } = loss.error;
    return new ChildStartupError(message, exitCode, signal, stderr); // One of its own for each call.
  }
  // tinypool hands a child's error back as a plain object: its message is what says something.
  const error = loss.error as { message?: unknown } | null;
  const message =
    typeof error === 'object' && error !== null && typeof error.message === 'string' ? error.message : String(error);
  return new RunInProcessError(`The process pool failed to run ${label}: ${message}`, { cause: loss.error });
}

/**
 * What warmUp() rejects with when a child that booted did not run its warm-up pings within
 * `startTimeout`: the pool stopped it (as a call's timeout does).
 */
export function stuckWhileWarming(bound: number): ChildStartupError {
  return new ChildStartupError(
    `A child process was ready, but did not finish its warm-up within startTimeout (${bound} ms), and was ` +
      `stopped: code in it blocks its event loop, or stopped it (a preload module's timer or listener, say). ` +
      `Check the pool's preload modules; the pool starts other children as it needs them.`,
    null,
    null,
    '',
  );
}

/** What warmUp() rejects with when the pool closes (shutdown(), or a configure() that replaces it) before it is done. */
export function closedWhileWarming(): PoolClosedError {
  return new PoolClosedError(
    'The pool was shut down, or configure() replaced its children, before they were warm. After a ' +
      'configure(), call warmUp() again for the new children.',
  );
}
