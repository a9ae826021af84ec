import { AbortError, TimeoutError } from '../errors.js';
import { type FailureKind, failureOf, type Outcome } from './call-stats.js';
import { longestTimer } from '../options.js';
import { AnswerSlot, CallSlot, type Answer, type CallTask } from '../protocol.js';
import { reasonOf, watchAbort } from './abort-watch.js';
import type { Batch } from './batch.js';
import type { CallbackListener } from './scheduler.js';
import type { StreamFlow } from './stream-flow.js';
import { monotonicMs } from '../shared/monotonic-clock.js';
import { perfNow } from '../shared/real-clock.js';
import { PatientTimer } from './patient-timer.js';

/** How many workers that never started a call are stopped for it, the call sent on each time (#notStarted). */
const stuckWorkersAtMost = 2;

/**
 * How many promises a call's async callbacks may have returned here, unsettled, before its worker is
 * held (onCallbacksPiling): a child that calls back faster than the callbacks settle would otherwise
 * make this process hold them all, and run as many at once (a write to a database each).
 */
const callbacksPendingAtMost = 1_000;

/**
 * One call between its submission and its single outcome. Whatever fires first (the answer, a
 * crash, the timeout, the caller's AbortSignal, a shutdown) settles it; everything later is
 * ignored. On a failure the scheduler is told, and stops the call's worker if it runs it.
 */
export class PendingCall {
  /** The batch it was last sent in, until it is answered or sent again. */
  batch: Batch | undefined;
  /** When its worker started it, if it is timed (`recordTiming`) and has started. */
  startedAt: number | undefined;
  /** When its worker says it ended, if its worker times calls itself (`ran`). */
  endedAt: number | undefined;
  /** A stream's credit and idle timer: set for a call of an async generator. */
  flow: StreamFlow | undefined;
  /** Told when it starts (a remote worker tells its caller of a call it held back: remote/held-calls.ts). */
  onStarted: (() => void) | undefined;
  /** Set for a call whose function arguments became stubs in the child. */
  listener: CallbackListener | undefined;
  /**
   * Its maker may fail it while it runs (a remote worker's cancel): its batch gets a way to be
   * stopped before its worker is known (the transport's abort of the task, which kills its child).
   */
  stoppable = false;
  /** How many more times it may run when its worker is lost under it (`retries`). */
  retriesLeft = 0;
  /** A stream's item could not be read in this process: its answer, when it comes, counts as failed. */
  unreadableHere = false;
  /** How `stats()` counted it once it settled. */
  countedAs: Outcome | undefined;
  #settled = false;
  #started = false;
  /** Started, and its child still imports its module first (a timeout that runs out then says so). */
  #importing = false;
  /** The timeout once started; until then, the bound on how long its worker may take to start it. */
  #timer: PatientTimer | undefined;
  /** Its timer keeps this process alive: false for a stream that nobody waits on (holdTimers). */
  #timerHolds = true;
  readonly #unwatch: (() => void) | undefined;
  /** Promises of its async callbacks that have not settled, and the answer that waits for them. */
  #callbacks: Set<PromiseLike<unknown>> | undefined;
  #answer: Answer | undefined;

  constructor(
    /** The call as it crosses, with its id. */
    readonly task: CallTask,
    readonly label: string,
    readonly timeout: number | undefined,
    readonly signal: AbortSignal | undefined,
    /** It goes in a batch of its own, one that can be dropped before it starts. */
    readonly alone: boolean,
    private readonly resolveWith: (answer: Answer) => void,
    private readonly rejectWith: (error: unknown) => void,
    /** `outcome`: how `stats()` counts it (answered with a value the worker could not send back: failed). */
    private onSettled: (call: PendingCall, failed: boolean, error: unknown, outcome: Outcome) => void,
    /** When it was made (`perfNow()`), for `recordTiming`; undefined when not timed. */
    readonly madeAt?: number,
    /** Higher leaves the backlog first. */
    readonly priority = 0,
    /** A traced call's context (shared/tracing.ts), told the worker's pid. */
    readonly trace?: { pid: number | undefined },
  ) {
    if (signal) {
      this.#unwatch = watchAbort(signal, () =>
        this.fail(new AbortError(`The call to ${label} was aborted.`, { cause: reasonOf(signal) })),
      );
    }
  }

  /**
   * Moved, unsent, to the scheduler that replaced its own (its pool was configured again while it
   * waited): that one hears of its end.
   */
  movedTo(onSettled: (call: PendingCall, failed: boolean, error: unknown, outcome: Outcome) => void): void {
    this.onSettled = onSettled;
  }

  get id(): number {
    return this.task[CallSlot.id];
  }

  /** Its worker said it started it (it is told for calls with a timeout, a signal, timing or tracing). */
  get hasStarted(): boolean {
    return this.#started;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Its worker answered; it waits only for promises its callbacks returned here (awaitCallback). */
  get waitsOnlyForCallbacks(): boolean {
    return this.#answer !== undefined && !this.#settled;
  }

  /** Its consumer left: what its callbacks return holds nothing back (letGoOfCallbacks). */
  #callbacksLetGo = false;

  /** An attempt of it ran, and was lost with its worker: it goes again (retries). */
  ranBefore = false;

  /**
   * How many times a worker that died saying which calls it ran (a fatal notice) did not name it: it
   * went again each time (scheduler.ts #lost), a bounded number of times.
   */
  sparedByFatal = 0;

  /** It went to a worker (in a batch), where it may have started: not only queued here. */
  get sent(): boolean {
    return this.batch !== undefined || this.#started;
  }

  /** Its worker holds it unrun, or gave it back unrun (a remote worker): it waits again, its timeout not begun. */
  unstarted(): void {
    if (this.#settled || !this.#started) return;
    this.#timer?.clear();
    this.#timer = undefined;
    this.#started = false;
    this.#importing = false;
    this.startedAt = undefined;
  }

  /**
   * A call with a timeout is next in line at its worker: if the worker does not start it within
   * `bound` ms, the worker is stuck (stopped, or deaf to its messages): `stopWorker` stops it, and
   * the call goes to another worker; or it fails, rather than wait for ever for a timeout that would
   * never begin.
   */
  awaitStart(bound: number, stopWorker?: () => boolean): void {
    if (this.#settled || this.timeout === undefined || this.#timer || this.#started) return;
    // After this process was busy for a while, the child's word that it started may be waiting to be
    // read, or its call, sent only now to a child heard to be ready only now (patient-timer.ts).
    this.#timer = this.#held(new PatientTimer(bound, () => this.#notStarted(bound, stopWorker), true));
  }

  /** How many workers were stopped for not starting it (awaitStart): it went to another each time. */
  #stuckWorkers = 0;

  /**
   * Handed back unstarted, to be sent again: the bound on its start at the worker that gave it back
   * no longer applies (it is set again where it goes next, if it is next in line there).
   */
  handedBack(): void {
    if (this.#started || this.#settled) return;
    this.#timer?.clear();
    this.#timer = undefined;
  }

  /**
   * Whether its timer keeps this process alive. A stream whose consumer has no `next()` pending holds
   * nothing (scheduler.ts, `waiting`): its timeout still fails it if the process lives that long.
   */
  holdTimers(yes: boolean): void {
    this.#timerHolds = yes;
    this.#timer?.hold(yes);
  }

  #held(timer: PatientTimer): PatientTimer {
    return this.#timerHolds ? timer : timer.hold(false);
  }

  #notStarted(bound: number, stopWorker: (() => boolean) | undefined, sentOn = true): void {
    if (this.#started) return;
    this.#timer = undefined;
    // Its worker never started it: the worker is stuck (stopped, or its event loop blocked by code
    // that ran after its last call answered, which made the next caller's call fail). Stopped, it loses
    // the call unstarted, and the call goes to another worker. A few times at most: then the call
    // itself may be what no worker starts.
    if (this.#stuckWorkers < stuckWorkersAtMost && stopWorker?.()) {
      this.#stuckWorkers++;
      // Sent again once the stopped worker's batch is lost (handedBack, awaitStart); if it is not, this
      // bound fails it as before.
      this.#timer = this.#held(new PatientTimer(bound, () => this.#notStarted(bound, undefined, false), true));
      return;
    }
    this.fail(
      new TimeoutError(
        `${this.label} was not started by its child process within ${bound} ms of reaching it: the child is ` +
          `stopped or stuck, so it was killed and will be replaced` +
          (this.#stuckWorkers > 0 && sentOn
            ? ` (it was sent to ${this.#stuckWorkers + 1} children, and none started it)`
            : '') +
          `. (The pool option startTimeout sets this bound.)`,
        this.timeout ?? bound,
        this.label,
      ),
    );
  }

  /**
   * Its worker took the call: only now does its timeout start, so time spent queued does not count.
   * `grace`: the worker enforces the timeout itself and says so (a remote worker); this timer is the
   * backstop for a worker that cannot, this much later.
   */
  started(grace = 0, importing = false): void {
    if (this.#settled || this.#started) return;
    if (this.madeAt !== undefined) this.startedAt = perfNow();
    this.endedAt = undefined;
    this.#started = true;
    this.#importing = importing;
    this.onStarted?.();
    if (this.timeout === undefined) return;
    this.#timer?.clear();
    const timeout = this.timeout;
    const message =
      grace === 0
        ? `${this.label} timed out after ${timeout} ms; its child process was killed and will be replaced.`
        : // Whether the stop request reaches the worker is not known here (its store may be down).
          `${this.label} timed out after ${timeout} ms, and its worker did not answer within ${grace} ms more, as it ` +
          `would have on enforcing the timeout itself (is it, or the way to it, down?). A request to stop the call is ` +
          `sent to it, which reaches it only if its queue can be reached.`;
    // Node fires a timer of 2³¹ ms or more at once: the grace must not push the longest timeout over it.
    // An answer that came while this process's event loop was blocked is read before the verdict.
    this.#timer = this.#held(
      new PatientTimer(Math.min(timeout + grace, longestTimer), () => {
        const told = this.#answer
          ? this.#callbacksLate(timeout)
          : this.#importing
            ? this.#stillImporting(timeout)
            : message;
        this.fail(new TimeoutError(told, timeout, this.label));
      }),
    );
  }

  /** Its child has imported its module, and runs its code now. */
  imported(): void {
    this.#importing = false;
  }

  /**
   * A timeout is the call's, import included, as documented; but a module slow to import would then
   * time out the first call of every new child, which says only "timed out" without this.
   */
  #stillImporting(timeout: number): string {
    let module = 'its declaring module';
    try {
      module = (JSON.parse(this.task[CallSlot.target]) as { module: string }).module;
    } catch {}
    return (
      `${this.label} timed out after ${timeout} ms while its child process was still importing ${module}: a child ` +
      `imports a module on its first call to it, and the import counts toward the call's timeout. The child was ` +
      `killed and will be replaced, and the next new child imports it again. Give the pool preload: ['${module}'] ` +
      `and await warmUp() before the first calls, or raise the timeout.`
    );
  }

  /**
   * Its worker's own times for its run (`recordTiming`; ms of the machine's monotonic clock): they
   * replace when this process heard of its start and answer, which are late by however long its
   * event loop was busy. They come from the child, whose code can make them anything: they are
   * kept within what this process saw, from the call's making to now.
   */
  ran(startedAt: number, endedAt: number): void {
    if (this.madeAt === undefined || this.#settled || !this.#started) return;
    const now = perfNow();
    // The monotonic clock is the machine's; perfNow() counts from this process's start on it.
    const start = startedAt + (now - monotonicMs());
    const run = Math.min(Math.max(0, endedAt - startedAt), now - this.madeAt);
    this.startedAt = Math.min(Math.max(this.madeAt, start), now - run);
    this.endedAt = this.startedAt + run;
  }

  /**
   * Its worker was lost while it ran: true, and it is ready to go again as if new (its timeout
   * restarts with the next attempt), when it has retries left.
   */
  retry(): boolean {
    if (this.#settled || this.retriesLeft <= 0) return false;
    this.retriesLeft--;
    this.ranBefore = true;
    this.#timer?.clear();
    this.#timer = undefined;
    this.#started = false;
    this.#importing = false;
    this.startedAt = undefined;
    this.endedAt = undefined;
    return true;
  }

  /**
   * The promise an async callback of this call returned (`callbacks: true`): its rejection fails the
   * call, as a throw does, and the call's answer waits for it, so that the rejection is never too late.
   */
  awaitCallback(returned: PromiseLike<unknown>): void {
    // Its consumer left (letGoOfCallbacks): what its callbacks return from now on holds nothing either.
    if (this.#callbacksLetGo) {
      Promise.resolve(returned).then(undefined, () => {}); // Nor does its rejection fail anything: it must not go unhandled.
      return;
    }
    const pending = (this.#callbacks ??= new Set());
    pending.add(returned);
    if (pending.size >= callbacksPendingAtMost && !this.#callbacksPiling) {
      this.#callbacksPiling = true;
      this.onCallbacksPiling?.(true);
    }
    const settled = () => {
      pending.delete(returned);
      // Read again once half of them settled: not at each one, which would hold and free it by turns.
      if (this.#callbacksPiling && pending.size <= callbacksPendingAtMost / 2) this.#stopPiling();
    };
    // Through Promise.resolve, as `await` does: a thenable that calls both of its handlers (or one
    // twice) settles once, with the first.
    Promise.resolve(returned).then(
      () => {
        settled();
        if (pending.size === 0 && this.#answer) this.succeed(this.#answer);
      },
      (error: unknown) => {
        settled();
        // Its consumer left meanwhile: the rejection fails nothing (letGoOfCallbacks).
        if (!this.#callbacksLetGo) this.fail(error);
      },
    );
  }

  /** Told when its callbacks' unsettled promises pile up past the bound (true), and when they fell back (false). */
  onCallbacksPiling: ((piling: boolean) => void) | undefined;
  #callbacksPiling = false;

  #stopPiling(): void {
    if (!this.#callbacksPiling) return;
    this.#callbacksPiling = false;
    this.onCallbacksPiling?.(false);
  }

  /**
   * Its consumer left (a stream given up on with `break` or `return()`): what its callbacks returned
   * no longer holds its answer back, which the consumer's `return()` waits for. A local generator's
   * `return()` does not wait for them either.
   */
  letGoOfCallbacks(): void {
    this.#callbacksLetGo = true;
    this.#stopPiling();
    if (!this.#callbacks?.size) return;
    this.#callbacks.clear();
    if (this.#answer) this.succeed(this.#answer);
  }

  /** The call was answered, and waited only for what its callbacks returned: nothing was killed. */
  #callbacksLate(timeout: number): string {
    const count = this.#callbacks?.size ?? 0;
    return (
      `${this.label} timed out after ${timeout} ms: it had answered, but ${count === 1 ? 'a promise' : `${count} promises`} ` +
      `that its callbacks returned in this process had not settled (the call's result waits for them).`
    );
  }

  /**
   * `failedAs`: the answer is an error its worker raised, not the call's code (a remote worker's
   * child crashed, timed out, was aborted): how `stats()` counts it.
   */
  succeed(answer: Answer, failedAs?: FailureKind): void {
    if (this.#callbacks?.size) {
      this.#answer = answer;
      return;
    }
    if (this.#finish()) {
      // Its code never ran (its module did not load, its arguments could not be read), or what it
      // returned could not be sent back: the call failed, not its code.
      const failed = answer[0] === 'thrown' && answer[AnswerSlot.stage] !== 'call';
      this.countedAs = failedAs ?? (failed || this.unreadableHere ? 'failed' : 'completed');
      this.onSettled(this, false, undefined, this.countedAs);
      this.resolveWith(answer);
    }
  }

  fail(error: unknown): void {
    if (this.#finish()) {
      this.countedAs = failureOf(error);
      this.onSettled(this, true, error, this.countedAs);
      this.rejectWith(error);
    }
  }

  #finish(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#timer?.clear();
    this.#unwatch?.();
    // Failed with callbacks still out: its worker, if it lives on, is read again.
    this.#stopPiling();
    return true;
  }
}
