import { abortedOf, reasonOf } from './abort-watch.js';
import { pingCalls } from '../child/ping.js';
import { AbortError, isInstance, PoolClosedError, QueueFullError, RunInProcessError, TimeoutError } from '../errors.js';
import { CallStats, type FailureKind, type Outcome, type PoolStats } from './call-stats.js';
import {
  CallSlot,
  EmissionSlot,
  type Answer,
  type CallTask,
  type ChildSettings,
  type Emission,
  type Value,
} from '../protocol.js';
import { Backlog } from './backlog.js';
import { type Batch, Batches } from './batch.js';
import { PendingCall } from './pending-call.js';
import { StreamFlow } from './stream-flow.js';
import { shutdownStopGrace, StreamStops } from './stream-stops.js';
import { Unsettled } from './unsettled.js';
import {
  type BatchLoss,
  closedWhileWarming,
  lossError,
  stuckWhileWarming,
  type Transport,
  type TransportFactory,
} from './transport.js';
import { clearTimeout, perfNow, setImmediate, setTimeout } from '../shared/real-clock.js';
import { longestTimer } from '../options.js';
import { PatientTimer } from './patient-timer.js';

export interface SchedulerSettings {
  /** Every call in a batch of its own, on a fresh worker (the transport replaces it after each). */
  isolate: boolean;
  /** Calls one worker runs at once: more than one, and a call with a timeout goes alone. */
  callsPerChild: number;
  /** What the workers apply themselves (call limit, heap limit). */
  child: ChildSettings | undefined;
  /** How long a worker may take to start a call with a timeout once it is next in line (ms). */
  startTimeout: number;
  /** The most calls that may wait for a worker; undefined: no limit. */
  maxQueue: number | undefined;
  /** Record wait and run times (the worker then says when it starts each call). */
  recordTiming: boolean;
  /**
   * How long a batch whose calls are all answered stays open for a next call (ms); 0: one turn of
   * the event loop. A remote worker's next job comes a Redis round trip later, not at once.
   */
  lingerMs?: number;
}

/** What whoever makes a call may do with it (a remote worker: fail it when its caller stops it, hear of its start). */
export interface MadeCall {
  fail(error: unknown): void;
  onStarted: (() => void) | undefined;
  readonly sent: boolean;
  readonly hasStarted: boolean;
  readonly settled: boolean;
}

/** How one call is to run. */
export interface CallSpec {
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Higher leaves the backlog first. */
  priority?: number;
  /** Runs again, up to this many times, when its worker is lost under it. */
  retries?: number;
  /** A traced call's context: the worker's pid is written into it once known. */
  trace?: { pid: number | undefined } | undefined;
}

/**
 * Hears a running call's callback events (`callbacks: true`); a throw fails the call with it. Here,
 * not in pending-call.ts: this file's declarations are published (call/pools.ts names Scheduler),
 * and pending-call's would bring Node's types into them.
 */
export type CallbackListener = (position: number, args: Uint8Array) => unknown;

/** How a stream is to run: its credit window, and the longest silence while it has credit (ms). */
export interface StreamSpec {
  window: number;
  idleTimeout: number | undefined;
}

/** A stream as its consumer drives it. */
export interface ScheduledStream {
  /** The call's single outcome: the generator's return value, its throw, or the pool's error. */
  readonly answer: Promise<Answer>;
  /** The consumer called `next()`: the child may yield one more. */
  pull(): void;
  /**
   * The consumer waits for the stream (true) or not (false). A stream nobody waits on holds nothing,
   * as a suspended local generator holds nothing: not the scheduler (unsettled.ts), and not its
   * worker (the transport's `release`: tinypool's ref on the child running it is dropped while every
   * batch that child runs is such a stream). A script that stops reading a stream without `break`
   * can exit; the child then exits with it, its generator's `finally` not run.
   */
  waiting(yes: boolean): void;
  /** The consumer left: the child runs the generator's `finally` blocks and answers (stream-stops.ts). */
  stop(): void;
  /** An item could not be read here (`error`): the stream failed, whatever its child answers (`stats()`). */
  unreadable(error: unknown): void;
  /**
   * The consumer is done with the stream, having met `met` (its end or its error), or having left
   * it; settles once its trace has ended (call.ts, which sets it when the stream is traced).
   */
  consumerDone?(met?: { value: unknown } | { error: unknown }): Promise<void>;
}

let nextCallId = 1;

/** How many times a call goes again after workers that died saying it had not run (#ranBeforeFatal). */
const fatalSparesAtMost = 3;

/**
 * The warm-up's no-op calls, which are no one's: not counted in `stats()`. Known by their task
 * object, which is cheaper on every settle than looking their target up, and no caller's can be.
 */
const pingTasks = new WeakSet<CallTask>();

/**
 * How long a lone call waits for a batch that is ending, rather than have its transport start a
 * worker (#hasRoom). A batch ends a round trip after its close: well under a millisecond here, a
 * few on a busy machine. A fork blocks this process's event loop for milliseconds, and the new child
 * takes a CPU for ~100 ms to boot; a worker that does not end its batch in this time is busy
 * (it answered, then blocked its event loop), and the call goes to a new one as it would have.
 */
const holdLimitMs = 25;

/**
 * The policy of one pool: where each call goes, and that it settles exactly once.
 * - A call that finds a slot free goes at once, in a batch of one; the others wait in the backlog
 *   (backlog.ts) and go several to a batch when a slot frees up.
 * - A batch whose calls are all answered stays open until the event loop turns with no new call,
 *   and the next calls go straight to its worker (batch.ts).
 * - A call with an AbortSignal, every call of an isolated pool, and, when a worker runs several calls
 *   at once, a call with a timeout go alone: the transport can drop such a batch before it starts.
 *   So does a call whose callbacks are relayed when a worker runs one call at a time: stopping its
 *   worker then stops nothing else.
 * - A timeout counts from the call's start. A call that fails while its worker runs it (timeout,
 *   abort, shutdown) has the worker stopped; the calls behind it go to another worker.
 * - When a worker is lost, the call it was running is blamed; calls it never started go again.
 * It knows nothing of processes: the transport (transport.ts) moves the batches.
 */
export class Scheduler {
  readonly #transport: Transport;
  readonly #pending = new Unsettled();
  readonly #backlog = new Backlog();
  /** Batches in flight, each holding a slot of the transport's capacity. */
  readonly #batches = new Batches();
  readonly #stats: CallStats;
  /** Who waits for a batch to end, by its id: the warm-up, for the batch its pings left open. */
  readonly #endWaiters = new Map<number, () => void>();
  #closing: Promise<void> | undefined;
  /** While a lone call waits for an ending batch instead of starting a worker: when it stops waiting (#hasRoom). */
  #holding: NodeJS.Timeout | undefined;
  /** Calls adopted from the scheduler this one replaced wait for a worker of its to be ready (adopt()). */
  #adopting = false;
  /** The timers of close()'s deadlines, each holding the process until the pool has closed. */
  readonly #deadlines: NodeJS.Timeout[] = [];
  /** When a shutdown past its deadline kills the workers still alive (close()). */
  #killAt: number | undefined;
  #closed = false;
  readonly #stops: StreamStops;
  /** Every call's settle hook: one function for the pool, not a closure per call. */
  readonly #onSettled = (call: PendingCall, failed: boolean, error: unknown, outcome: Outcome): void =>
    this.#settled(call, failed, error, outcome);

  constructor(
    readonly settings: SchedulerSettings,
    makeTransport: TransportFactory,
    private readonly onBroken: () => void = () => {},
    /** The pool's counters, which outlive this scheduler when a configure() replaces it (pool/pools.ts). */
    stats = new CallStats(settings.recordTiming),
  ) {
    this.#stats = stats;
    this.#transport = makeTransport({
      started: (batch, call, worker, importing) => this.#started(batch, call, worker, importing),
      imported: (batch, call) => this.#batches.get(batch)?.holds(call)?.imported(),
      requeued: (batch, call) => this.#batches.get(batch)?.holds(call)?.unstarted(),
      answered: (batch, call, answer, worker, failedAs) => this.#answered(batch, call, answer, worker, failedAs),
      emitted: (batch, call, emission) => this.#emitted(batch, call, emission),
      ran: (batch, call, startedAt, endedAt) => this.#batches.get(batch)?.holds(call)?.ran(startedAt, endedAt),
      ended: (batch, slow) => this.#ended(batch, slow),
      lost: (batch, loss) => this.#lost(batch, loss),
      broken: (error) => this.#broken(error),
    });
    this.#stops = new StreamStops(this.#transport);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Where what its calls come to is counted: the pool's counters, shared across a configure(). */
  get counters(): CallStats {
    return this.#stats;
  }

  /** What its calls have come to, and how many wait: for `stats()`. */
  stats(): PoolStats {
    const { queued, running } = this.inFlight();
    // Busy: running a call (the transport counts per child, a child whose batches are all answered not).
    return { ...this.#stats.counts(queued, running), children: this.#transport.children() };
  }

  /** Its calls waiting for a worker, and those sent to one and not settled. */
  inFlight(): { queued: number; running: number } {
    // No more than are unsettled: a pool that broke failed its calls, which its transport may still hold.
    const queued = Math.min(this.#pending.size, this.#backlog.size + this.#transport.waiting);
    return { queued, running: Math.max(0, this.#pending.size - queued) };
  }

  /**
   * Settles once the workers it keeps warm are ready, and this side of the call path has run: a few
   * no-op calls (child/ping.ts) go through it as any call does, so that the first real call does not
   * pay for compiling it (in a fresh parent, several milliseconds). They are not counted in `stats()`,
   * and tracing never sees them: they do not come through the call path that publishes.
   */
  async warmUp(): Promise<void> {
    await this.#transport.warmUp();
    // An isolated pool replaces a worker after each call: a ping would only swap a warm one for a cold one.
    if (this.settings.isolate) return;
    // In turn: the second goes to the batch the first left open, as a caller's next call would. Only
    // while no call is pending, so that a ping never waits beside a caller's call (nor counts in
    // maxQueue), and while the pool is not closing: then warmUp() fails saying so.
    if (!(await this.#pings(pingCalls()))) return this.#unlessClosing();
    // Their batch's end runs too: the path every batch takes when its caller stops.
    await Promise.all([...this.#batches.idle()].map((batch) => this.#closeAndWait(batch)));
    // Then one more, whose batch is left as a call leaves it: open until this turn of the event loop
    // ends (#batchIdle). A call made at once after `await warmUp()` joins it, as the next call of a
    // sequence does, instead of paying for a new batch (bench/analysis.md).
    if (!(await this.#pings(pingCalls().slice(0, 1)))) return this.#unlessClosing();
  }

  /** A configure() that changed only a call's limits (pool/pools.ts retune): calls queued from now on meet this one. */
  retune(maxQueue: number | undefined): void {
    this.settings.maxQueue = maxQueue;
  }

  /** The pings stopped: for a caller's call, which goes first (warmUp() is done), or for the pool closing. */
  #unlessClosing(): void {
    if (this.#closing) throw closedWhileWarming();
  }

  /**
   * Runs warm-up pings in turn; false when a caller's call came meanwhile, which then goes first, or
   * when the pool is closing (a ping failed by shutdown()'s deadline is no reason to send the next).
   */
  async #pings(pings: CallTask[]): Promise<boolean> {
    // Bounded as a child's boot is: a child that loaded, and then blocked its event loop or stopped,
    // left warmUp() unsettled, or settled it seconds late with that child kept. Not where nothing can
    // stop a call (in process), nor where there is no start bound (a remote queue). By a timer of
    // its own, not a call timeout: that would send the pings down another path than a first call's
    // (a child telling each start), which is the path they are there to warm.
    const { startTimeout } = this.settings;
    const bounded = !this.#transport.stopsNothing && startTimeout < longestTimer;
    for (const ping of pings) {
      if (this.#pending.size > 0 || this.#closing) return false;
      pingTasks.add(ping);
      let call: MadeCall | undefined;
      let stuck = false;
      const timer = bounded
        ? new PatientTimer(
            startTimeout,
            () => {
              stuck = true;
              // Failed as a call that did not start in time: its child is stopped (#stopIfRunning).
              call?.fail(
                new TimeoutError(
                  `a warm-up ping was not answered within ${startTimeout} ms`,
                  startTimeout,
                  'a warm-up ping',
                ),
              );
            },
            true,
          )
        : undefined;
      await this.run(ping, 'a warm-up ping', {}, undefined, (made) => (call = made)).catch(() => {});
      timer?.clear();
      if (stuck) throw stuckWhileWarming(startTimeout);
    }
    return true;
  }

  /** Where its calls run, for messages: 'the child process'. */
  get runsIn(): string {
    return this.#transport.runsIn;
  }

  /** Its calls run under Node's permission model. */
  get sandboxed(): boolean {
    return this.#transport.sandboxed === true;
  }

  /**
   * Runs one call; the task is the recipe's, given its id here. `made` gets the call as it is made:
   * a handle to fail it (which stops it where it runs) without the AbortSignal that would make it
   * go alone, for a remote worker stopping a job a caller gave up on.
   */
  run(
    task: CallTask,
    label: string,
    spec: CallSpec,
    listener?: CallbackListener,
    made?: (call: MadeCall) => void,
  ): Promise<Answer> {
    if (listener && !this.#transport.streaming) return this.#refuseUnrelayed(label, 'callbacks');
    return this.#run(task, label, spec, undefined, listener, made);
  }

  /**
   * Runs one call of an async generator. It goes alone, so it holds a worker for its whole life and
   * never waits in a batch behind, or in front of, other calls; it counts against the capacity.
   */
  stream(
    task: CallTask,
    label: string,
    spec: CallSpec,
    { window, idleTimeout }: StreamSpec,
    deliver: (item: Value) => void,
    listener?: CallbackListener,
  ): ScheduledStream {
    if (!this.#transport.streaming) {
      const answer = this.#refuseUnrelayed(label, 'stream');
      return { answer, pull: () => {}, waiting: () => {}, stop: () => {}, unreadable: () => {} };
    }
    task[CallSlot.window] = window;
    let call: PendingCall | undefined;
    const flow = new StreamFlow(
      window,
      idleTimeout,
      deliver,
      (count) => {
        const batch = call?.batch;
        return batch !== undefined && this.#transport.steer(batch.id, task[CallSlot.id], ['credit', count]);
      },
      () => call?.fail(new TimeoutError(idleMessage(label, idleTimeout ?? 0), idleTimeout ?? 0, label)),
    );
    const answer = this.#run(task, label, spec, flow, listener, (made) => (call = made));
    return {
      answer,
      pull: () => flow.pull(),
      waiting: (yes) => {
        // Its timers hold the process as its call does: only while the consumer waits for an item.
        flow.hold(yes);
        if (!call) return;
        call.holdTimers(yes);
        // Answered, and waiting only for its callbacks' promises: those hold the process, or not (#answered).
        this.#pending.hold(call, yes && !call.waitsOnlyForCallbacks);
        const batch = call.batch;
        if (batch) this.#transport.release?.(batch.id, !yes);
      },
      stop: () => call && this.#stops.consumerLeft(call),
      unreadable: () => {
        if (!call) return;
        if (!call.settled) call.unreadableHere = true;
        else if (call.countedAs === 'completed') {
          // Once: the consumer meets the item again when its turn comes.
          call.countedAs = 'failed';
          this.#stats.unreadable();
        }
      },
    };
  }

  /** A call's value, counted completed, could not be read here (call.ts): it failed. */
  unreadable(): void {
    this.#stats.unreadable();
  }

  #run(
    task: CallTask,
    label: string,
    { timeout, signal, priority = 0, retries = 0, trace }: CallSpec,
    flow: StreamFlow | undefined,
    listener: CallbackListener | undefined,
    made?: (call: PendingCall) => void,
  ): Promise<Answer> {
    // A closing pool takes no new call: its workers are stopping, and a new one would start a worker
    // that nothing stops. (Calls come to the pool that replaced it: only a caller holding this one
    // gets here, as the warm-up does, or a remote worker's job after the worker's close().)
    if (this.#closing) return Promise.reject(new PoolClosedError(`${label} was not run: its pool is closing.`));
    return new Promise<Answer>((resolve, reject) => {
      task[CallSlot.id] = nextCallId++;
      const { isolate, callsPerChild, recordTiming } = this.settings;
      // Its start is told when something counts from it (a timeout, timing, a stream's idle bound), and
      // when something needs its worker known at once: a traced call's pid, and which child an abort kills.
      task[CallSlot.notifyStart] =
        timeout !== undefined ||
        recordTiming ||
        flow?.idleTimeout !== undefined ||
        signal !== undefined ||
        trace !== undefined;
      const together = callsPerChild > 1 || this.#transport.runsCallsTogether === true;
      // A call whose callbacks are relayed, one at a time per child, goes alone too: one that throws
      // fails the call while the child, which does not wait for it, may have answered and started
      // the next call of its batch, which stopping the child would kill (a bystander failed as
      // crashed). With calls side by side in a child, stopping it stops them all anyway (documented).
      const alone =
        signal !== undefined ||
        isolate ||
        (timeout !== undefined && together) ||
        flow !== undefined ||
        (listener !== undefined && !together);
      const call = new PendingCall(
        task,
        label,
        timeout,
        signal,
        alone,
        resolve,
        reject,
        this.#onSettled,
        recordTiming ? perfNow() : undefined,
        priority,
        trace,
      );
      // A stream's items already delivered cannot be taken back: it is never run again.
      call.retriesLeft = flow ? 0 : retries;
      call.flow = flow;
      call.listener = listener;
      // Its callbacks' promises pile up here: its worker waits until they fall back (a child's writes
      // wait for the pipe that this process stops reading).
      if (listener)
        call.onCallbacksPiling = (piling) => {
          if (call.batch) this.#transport.holdEmissions?.(call.batch.id, piling);
        };
      call.stoppable = made !== undefined;
      made?.(call);
      if (signal && abortedOf(signal)) {
        call.fail(new AbortError(`The call to ${label} was aborted before it started.`, { cause: reasonOf(signal) }));
        return;
      }
      if (this.#queueIsFull(call)) return;
      this.#pending.add(call);
      if (alone) {
        // A worker that answered all it was sent waits for more in an open batch, which this call must
        // not join (a timeout or an abort of its own would stop what else that worker runs): the batch
        // closes. Then, as any call, it waits for a batch that is ending (#hasRoom holds it) rather
        // than start a worker, when no other is free: one call at a time, each with a signal, or
        // stream after stream, keeps to one child.
        this.#closeIdleBatch();
        // It waits here while every slot is taken, or behind calls made before it that wait here (FIFO
        // within a priority): in tinypool's queue it would take the next free child from them, and
        // from calls a closing batch hands back (a stream then holds that child for its whole life).
        // (Behind those the transport holds, it waits there: tinypool-transport.ts #parks.)
        if (this.#backlog.holdsBefore(priority) || !this.#hasRoom(1)) this.#wait(call);
        else this.#submit([call], true);
      } else if (this.#appendToIdle(call)) return;
      else if (this.#hasRoom(1)) this.#submit([call], false);
      else this.#wait(call);
    });
  }

  /**
   * A call whose transport cannot relay what it sends before its answer: refused before it is made,
   * and counted as failed, as a call the pool cannot send is.
   */
  #refuseUnrelayed(label: string, what: 'stream' | 'callbacks'): Promise<never> {
    this.#stats.settled('failed');
    const feature =
      what === 'stream'
        ? 'streams its results (an async generator)'
        : 'takes callbacks that the child calls back (callbacks: true)';
    const error = new RunInProcessError(
      `${label} ${feature}, but this pool runs its calls in ${this.#transport.runsIn}, which cannot relay what a ` +
        `running call sends before its answer: streaming and progress callbacks work only in a local pool for now. ` +
        `Run ${label} in a local pool, or return the whole result at once.`,
    );
    return Promise.reject(error);
  }

  /**
   * The calls that wait here for a worker, never sent, taken out for the scheduler that replaces this
   * one (configure() again): they go to its workers, in their order, rather than wait for these,
   * behind a call that may never end. Not streams, nor calls whose callbacks are relayed: both are
   * bound to this scheduler's transport; nor its own warm-up pings.
   */
  handOver(): PendingCall[] {
    const moving = this.#backlog.takeOut(
      (call) => !call.settled && !call.flow && !call.listener && !call.stoppable && !pingTasks.has(call.task),
    );
    for (const call of moving) this.#pending.delete(call);
    return moving;
  }

  /**
   * Calls that the scheduler this one replaced held unsent (handOver()): they wait here now, and, with
   * the calls made meanwhile, go once a worker of this one is ready. Sent at once, they would wait
   * for its boot in the transport, where a handOver() cannot take them back: configured again
   * meanwhile, this scheduler would run them with the options in between (a hostile review's).
   */
  adopt(calls: PendingCall[]): void {
    for (const call of calls) {
      call.movedTo(this.#onSettled);
      this.#pending.add(call);
    }
    this.#backlog.returnUnstarted(calls);
    let ready: Promise<void> | undefined;
    try {
      ready = this.#transport.workerReady?.();
    } catch {
      // Never thrown by the transports here (a failure is a rejection); if it were, the calls go as before.
    }
    if (!ready) {
      this.#dispatch();
      return;
    }
    this.#adopting = true;
    // One that cannot start: what waits goes all the same, and meets the error as any call would.
    const go = () => {
      this.#adopting = false;
      this.#dispatch();
    };
    ready.then(go, go);
  }

  /**
   * Lets calls in flight finish, rejects those still pending after `deadline` ms, then stops every
   * worker. Calling it again with a shorter deadline tightens it.
   */
  close(deadline: number): Promise<void> {
    this.#closing ??= this.#pending
      .drained()
      .then(() => this.#stops.all())
      .then(() => this.#transport.destroy(this.#killAt))
      .finally(() => {
        this.#closed = true;
        for (const timer of this.#deadlines) clearTimeout(timer);
      });
    if (Number.isFinite(deadline) && !this.#closed) {
      // Not unref'd: a stream nobody reads holds nothing, and the deadline must still come for its
      // call to fail and shutdown() to settle. Cleared once it has.
      this.#deadlines.push(
        setTimeout(() => {
          // Past the deadline, the shutdown settles about a second later: what still runs then is killed.
          this.#killAt ??= perfNow() + shutdownStopGrace;
          for (const call of this.#pending) {
            // One in a batch was sent to a worker, which may have started it; one retried ran before.
            const mayHaveRun = call.sent || call.ranBefore;
            call.fail(
              new PoolClosedError(
                deadline === 0
                  ? `${call.label} was stopped: its pool was shut down without waiting for its calls (a deadline of 0).`
                  : `${call.label} did not finish within the ${deadline} ms shutdown deadline.`,
                { mayHaveRun },
              ),
            );
          }
        }, deadline),
      );
    }
    return this.#closing;
  }

  #submit(calls: PendingCall[], alone: boolean): void {
    // A call that goes alone goes to a batch that is not kept open: its worker is free right after.
    const batch = this.#batches.start(calls, !alone && !this.settings.isolate, alone);
    const tasks = calls.map((call) => call.task);
    // A worker that runs batches side by side may die while running another's call, before it read
    // this one: told when this batch starts, the scheduler knows then that none of it ran (#lost).
    // Only its first call, and the first appended after all were answered (#appendTo): one notice
    // a run, not one a call.
    if (this.settings.callsPerChild > 1 && tasks[0]) tasks[0][CallSlot.notifyStart] = true;
    // A batch with a timed call may have to be stopped before its worker is known.
    const stoppable = alone || calls.some((call) => call.timeout !== undefined || call.stoppable);
    const timeouts = calls.map((call) => call.timeout);
    this.#transport.submit(['batch', batch.id, tasks, batch.keepOpen, this.settings.child], alone, stoppable, timeouts);
    // A stream sent again (its worker retired before it started) keeps what its consumer said.
    if (alone && calls[0] && this.#pending.isReleased(calls[0])) this.#transport.release?.(batch.id, true);
    // A batch that goes alone may wait in the transport for a worker of its own, for as long as
    // others hold them: there is no telling when it reaches one, so it has no start bound.
    if (!alone) this.#watchFront(batch);
  }

  /**
   * A new batch for `calls` waiting calls may go now: a slot is free, and it would not start a
   * worker for one call while a worker is about to be free. A call made alone while the batch
   * before it is closing (`await warmUp()`, then a turn of the event loop; or calls a little apart,
   * in a pool below its size) waits for that batch's end, a round trip, which it would wait for in
   * the transport anyway, instead of paying for a new worker. Not for long (`holdLimitMs`: a worker
   * that answered and then blocked its event loop does not read the close), and not when more
   * calls wait: then they go at once, and under load (or after a crash) the pool grows to its size.
   * `hold` false: the hold is over (its timer fired), and what waited goes.
   */
  #hasRoom(calls: number, hold = true): boolean {
    if (this.#adopting || this.#batches.count >= this.#transport.capacity) return false;
    if (!hold || calls > 1 || this.#batches.endingCount === 0 || !this.#transport.wouldStartWorker?.()) return true;
    this.#holding ??= setTimeout(() => this.#dispatch(false), holdLimitMs).unref();
    return false;
  }

  /** A call that cannot go now waits in the backlog; one that makes several wait may start a worker. */
  #wait(call: PendingCall): void {
    this.#backlog.push(call);
    if (this.#backlog.size > 1 && this.#batches.count < this.#transport.capacity) this.#dispatch();
  }

  /**
   * Sends what waits in the backlog, in batches, to the slots that are free. While the transport
   * would start a worker for them, the slots of batches ending count as free too: calls held for
   * one (#hasRoom) go in batches of their own, to the new worker and to the one about to be free.
   */
  #dispatch(hold = true): void {
    while (this.#backlog.size > 0 && this.#hasRoom(this.#backlog.size, hold)) {
      const ending = this.#batches.endingCount;
      const starts = ending > 0 && this.#transport.wouldStartWorker?.() === true;
      const calls = this.#backlog.take(this.#transport.capacity - this.#batches.count + (starts ? ending : 0));
      if (calls.length > 0) this.#submit(calls, calls[0]!.alone);
    }
    // Nothing is held any more: a later lone call gets the whole wait (#hasRoom).
    if (this.#holding && (!hold || this.#backlog.size === 0)) {
      clearTimeout(this.#holding);
      this.#holding = undefined;
    }
  }

  /** Closes a batch left open for more calls when a new worker would be started otherwise (none is free). */
  #closeIdleBatch(): void {
    for (const batch of this.#batches.idle()) {
      if (this.#transport.wouldStartWorker?.()) this.#close(batch);
      return;
    }
  }

  #appendToIdle(call: PendingCall): boolean {
    for (const batch of this.#batches.idle()) if (this.#appendTo(batch, [call])) return true;
    return false;
  }

  #appendTo(batch: Batch, calls: PendingCall[]): boolean {
    this.#batches.busy(batch);
    if (batch.closed) return false;
    const tasks = calls.map((call) => call.task);
    // As for a new batch (#submit): the child may not read these before it dies running another's call.
    if (this.settings.callsPerChild > 1 && batch.unanswered.length === 0 && tasks[0])
      tasks[0][CallSlot.notifyStart] = true;
    if (!this.#transport.append(batch.id, tasks)) {
      this.#close(batch);
      return false;
    }
    batch.add(calls);
    this.#watchFront(batch);
    return true;
  }

  #started(batchId: number, callId: number, worker: number | undefined, importing = false): void {
    const batch = this.#batches.get(batchId);
    if (!batch) return;
    batch.started = true;
    const call = batch.holds(callId);
    if (call?.trace) tellPid(call.trace, worker);
    call?.started(this.#transport.timeoutGrace, importing);
    call?.flow?.started();
  }

  /** What a running call sends before its answer counts only for a call that the batch it names holds. */
  #emitted(batchId: number, callId: number, emission: Emission): void {
    const batch = this.#batches.get(batchId);
    const call = batch?.holds(callId);
    if (!batch || !call || call.settled) return;
    batch.started = true;
    if (emission[0] === 'items') {
      const flow = call.flow;
      if (!flow) return;
      for (const item of emission[EmissionSlot.items]) {
        if (flow.received(item)) continue;
        // Items held here would grow without bound: the worker is stopped, as for a broken call.
        call.fail(
          new RunInProcessError(
            `${call.label} sent more items than its consumer allowed (a window of ${flow.window}), which ` +
              `run-in-process's own code in ${this.#transport.runsIn} never does: the stream was stopped, and its ` +
              `worker with it.`,
          ),
        );
        return;
      }
      return;
    }
    try {
      const returned = call.listener?.(emission[EmissionSlot.position], emission[EmissionSlot.args]);
      // An async callback that rejects has thrown too: not an unhandled rejection in this process.
      if (isThenable(returned)) call.awaitCallback(returned);
    } catch (error) {
      // The parent's callback threw: the call fails with that error, as it would have locally.
      call.fail(error);
    }
  }

  /** An answer counts only for a call that the batch it names holds: no other call can be settled by it. */
  #answered(
    batchId: number,
    callId: number,
    answer: Answer,
    worker: number | undefined,
    failedAs: FailureKind | undefined,
  ): void {
    const batch = this.#batches.get(batchId);
    const call = batch?.take(callId);
    if (!batch || !call) return;
    if (call.trace) tellPid(call.trace, worker);
    batch.started = true;
    // A crash answered by a worker of its own (a remote worker's child crashed): with retries left,
    // the call goes again, as one whose child crashed here does (#lost).
    if (failedAs === 'crashed' && call.retry()) this.#resend([call]);
    else {
      call.succeed(answer, failedAs);
      // Answered, it waits only for promises that its callbacks returned here: they hold the process
      // if what they wait for does (a timer, a socket), as an `await` of them would; the call does not.
      if (!call.settled) this.#pending.hold(call, false);
    }
    if (batch.idle) this.#batchIdle(batch);
    else this.#watchFront(batch);
  }

  /**
   * All its calls are answered. What waits in the backlog goes straight to its worker, without a
   * new batch. With nothing waiting, the batch stays open for a caller that awaits each call and
   * makes the next at once (microtasks run before setImmediate); otherwise it is closed.
   */
  #batchIdle(batch: Batch): void {
    // The worker ran all it was sent without stopping for a slow call.
    this.#backlog.learn(false);
    // Batches wait in the transport (calls that go alone, say): a caller that makes call after call
    // would keep this batch open, and its worker from them, for as long as it goes on. The same for
    // a call that goes alone waiting here, next in line: it must not join this batch, which may share
    // its child with others (callsPerChild above 1) that its timeout or abort would kill; the batch
    // closes, and the call goes in a batch of its own (#dispatch) once the slot is free.
    if (this.#transport.waiting > 0 || this.#backlog.nextGoesAlone) {
      this.#close(batch);
      return;
    }
    while (this.#backlog.size > 0) {
      const calls = this.#backlog.take(1);
      if (calls.length === 0) continue;
      if (this.#appendTo(batch, calls)) return;
      this.#backlog.returnUnstarted(calls);
      break;
    }
    this.#batches.waiting(batch);
    // An open batch holds its worker and keeps this process alive: it must close once nothing comes.
    const { lingerMs } = this.settings;
    if (!lingerMs) {
      setImmediate(() => batch.idle && this.#close(batch));
      return;
    }
    batch.idleSince = perfNow();
    if (!batch.lingering) this.#linger(batch, lingerMs);
  }

  /**
   * Closes the batch once it has been idle for `ms` on end. Idle at the moment the timer fires is
   * not enough: calls a Redis round trip apart leave it idle most of the time, and it would close
   * under them every `ms`, each next call then paying for a new task.
   */
  #linger(batch: Batch, ms: number, wait = ms): void {
    batch.lingering = true;
    setTimeout(() => {
      batch.lingering = false;
      if (!batch.idle) return; // Busy again: its next idle sets the timer anew.
      const left = batch.idleSince + ms - perfNow();
      if (left >= 1) this.#linger(batch, ms, left);
      else this.#close(batch);
    }, wait);
  }

  #closeAndWait(batch: Batch): Promise<void> {
    return new Promise((resolve) => {
      this.#endWaiters.set(batch.id, resolve);
      this.#close(batch);
    });
  }

  /** Its worker should end it at once; one that does not within startTimeout is stuck, and is stopped. */
  #close(batch: Batch): void {
    this.#batches.busy(batch);
    if (batch.closed) return;
    batch.closed = true;
    this.#transport.close(batch.id);
    // As for a start (pending-call.ts), the verdict waits a turn: the batch's end may be waiting to be read.
    const stopIfStill = () => this.#batches.get(batch.id) === batch && this.#transport.cancel(batch.id, 'stuck');
    const overdue = setTimeout(() => setImmediate(stopIfStill), this.settings.startTimeout).unref();
    batch.clearOverdue = () => clearTimeout(overdue);
  }

  /** Its worker answered every call it ran; the calls still unanswered never started and go again. */
  #ended(batchId: number, slow: boolean): void {
    const batch = this.#batches.finish(batchId);
    if (!batch) return;
    if (this.#endWaiters.size > 0) this.#batchOver(batchId);
    this.#stops.batchOver(batchId);
    this.#backlog.learn(slow);
    this.#resend(batch.unanswered);
    this.#dispatch();
  }

  #lost(batchId: number, loss: BatchLoss): void {
    const batch = this.#batches.finish(batchId);
    if (!batch) return;
    if (this.#endWaiters.size > 0) this.#batchOver(batchId);
    this.#stops.batchOver(batchId);
    if (loss.kind === 'retired') this.#resend(this.#handedBack(batch.unanswered, loss.error));
    else if (loss.kind === 'crashed') {
      // The first unanswered call was running, unless it had settled already (a timeout stopped it),
      // or the worker said which ran (`ran`); with `allStarted`, every one may have run. A blamed call
      // with retries left (idempotent work, by the caller's word) goes again, first; the others fail.
      // And none was running if the worker, which tells each start it is asked to before the call
      // runs, had not told the start of the first unanswered call (a batch runs its calls in turn).
      const { ran } = loss;
      const [first] = batch.unanswered;
      const unstarted = loss.startsTold && first?.task[CallSlot.notifyStart] === true && !first.hasStarted;
      const blamed = loss.allStarted
        ? batch.unanswered
        : ran
          ? batch.unanswered.filter((call) => (loss.ranIsItsWord ? this.#ranBeforeFatal(call, ran) : ran(call.id)))
          : first && !unstarted
            ? [first]
            : [];
      if (blamed.length > 0) loss.onBlamed?.();
      const again: PendingCall[] = [];
      for (const call of blamed) {
        if (call.settled) continue;
        if (call.retry()) again.push(call);
        else call.fail(loss.error(call.label));
      }
      this.#resend([...again, ...batch.unanswered.filter((call) => !blamed.includes(call))]);
    } else {
      for (const call of batch.unanswered) call.fail(lossError(loss, call.label));
    }
    this.#dispatch();
  }

  /**
   * Whether a call lost with a worker that died saying which calls it ran (a local child's fatal
   * notice) ran. Its word can only add to what this process knows: a call whose start it was told ran,
   * whatever the list says (code in the child can send a notice with any list, and a call left out
   * would run again, another caller's among them). And a call left out more than a few times counts
   * as run: a worker whose code forges that notice on every call would otherwise have it sent again
   * for ever.
   */
  #ranBeforeFatal(call: PendingCall, ran: (call: number) => boolean): boolean {
    if (ran(call.id) || call.hasStarted) return true;
    return ++call.sparedByFatal > fatalSparesAtMost;
  }

  /**
   * Calls that a retiring worker gave back go again: it never started them. One that it had said it
   * started fails instead, as crashed: only the module's own code, sending run-in-process's
   * messages, makes a worker say it retired while it runs a call.
   */
  #handedBack(calls: PendingCall[], crashed: ((label: string) => Error) | undefined): PendingCall[] {
    const again: PendingCall[] = [];
    for (const call of calls) {
      if (call.settled) continue;
      if (call.hasStarted && crashed) call.fail(crashed(call.label));
      else again.push(call);
    }
    return again;
  }

  #batchOver(batchId: number): void {
    this.#endWaiters.get(batchId)?.();
    this.#endWaiters.delete(batchId);
  }

  #broken(error: Error): void {
    this.onBroken();
    for (const call of [...this.#pending]) call.fail(error);
    // A close() (shutdown()) waits for its workers' ends as well: a child that failed to boot may still be exiting.
    this.#closing ??= this.#transport.destroy().finally(() => {
      this.#closed = true;
    });
  }

  /** Calls that never started go again, first; those that went alone go alone again. */
  #resend(calls: PendingCall[]): void {
    const unsettled = calls.filter((call) => !call.settled);
    for (const call of unsettled) call.handedBack();
    this.#backlog.returnUnstarted(unsettled.filter((call) => !call.alone));
    for (const call of unsettled) if (call.alone) this.#submit([call], true);
  }

  #settled(call: PendingCall, failed: boolean, error: unknown, outcome: Outcome): void {
    call.flow?.end();
    if (failed) this.#stopIfRunning(call, error);
    // Aborted while it waited: it no longer counts against maxQueue, nor holds its place.
    if (call.alone && !call.sent) this.#backlog.remove(call);
    this.#pending.delete(call);
    if (pingTasks.has(call.task)) return;
    // A value that could not be sent back fails the call, but its worker is fine: nothing to stop.
    this.#stats.settled(outcome);
    if (call.madeAt !== undefined) this.#stats.timed(call.madeAt, call.startedAt, call.endedAt ?? perfNow());
  }

  /** With `maxQueue`, a call that would wait behind that many others is refused at once. */
  #queueIsFull(call: PendingCall): boolean {
    const { maxQueue } = this.settings;
    if (maxQueue === undefined) return false;
    const waiting = this.#backlog.size + this.#transport.waiting;
    // The first calls to wait are about to go: a slot whose batch has no call still running gives its
    // worker up at once (an idle open batch: a call joins it, or it closes for one that goes alone) or
    // soon (every call answered, its end on its way). Only the calls beyond those count against the
    // limit: not counting the slots' waiters at all let every call made while batches were ending
    // through. Going alone is no wait in itself. (Counted only here, with maxQueue set: a walk over
    // at most `capacity` batches.)
    const free = Math.max(0, this.#transport.capacity - this.#batches.runningCount);
    if (waiting - free < maxQueue) return false;
    call.fail(
      new QueueFullError(
        `${call.label} was refused: ${waiting - free} calls already wait for a child, the pool's maxQueue (${maxQueue}). ` +
          `Shed the load (answer 503, retry later), or raise maxQueue.`,
        maxQueue,
      ),
    );
    return true;
  }

  /**
   * A call that failed while its worker runs it, or is about to: the worker is stopped, as nothing
   * else would stop it. The calls behind it never started, and go again.
   */
  #stopIfRunning(call: PendingCall, error: unknown): void {
    const batch = call.batch;
    if (!batch || batch.closed || !(batch.exclusive || batch.unanswered[0] === call)) return;
    // At shutdown a stream is told to stop first, so that its `finally` blocks run if they can.
    // The error may be the user's own (what a callback threw), a Proxy whose prototype cannot be read.
    if (call.flow && isInstance(error, PoolClosedError)) {
      this.#stops.windDown(call, batch, 'shutdown');
      return;
    }
    const reason = isInstance(error, PoolClosedError)
      ? 'shutdown'
      : isInstance(error, TimeoutError)
        ? call.hasStarted
          ? 'timeout'
          : 'stuck'
        : 'abort';
    this.#transport.cancel(batch.id, reason);
  }

  /**
   * The call next in line at a batch's worker: one with a timeout must be started within a bound.
   * Only for batches that share the pool's slots, which reach a worker as soon as they are sent.
   */
  #watchFront(batch: Batch): void {
    // Inline, a call is 'started' by nobody, and could not be stopped if it were stuck.
    const front = batch.unanswered[0];
    if (batch.exclusive || this.#transport.stopsNothing || !front) return;
    front.awaitStart(this.settings.startTimeout, () => {
      // Still its worker's next call: the worker is stopped, and what it never started goes again (#lost).
      if (front.batch !== batch || batch.closed || batch.unanswered[0] !== front) return false;
      this.#transport.cancel(batch.id, 'stuck');
      return true;
    });
  }
}

function idleMessage(label: string, idleTimeout: number): string {
  return (
    `${label} yielded nothing for ${idleTimeout} ms while it was free to (stream idleTimeout); its child ` +
    `process was killed and will be replaced.`
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Writes the worker's pid into a traced call's context, which subscribers of run-in-process:call
 * hold: one that froze it (or made pid read-only) must not keep the call from settling.
 */
function tellPid(trace: { pid: number | undefined }, worker: number | undefined): void {
  try {
    trace.pid = worker;
  } catch {
    // The subscriber's own context: it does without the pid.
  }
}
