import { fileURLToPath } from 'node:url';
import Tinypool from 'tinypool';
import { AbortError, PoolClosedError, RunInProcessError } from '../errors.js';
import type { BatchTask, CallTask, ChildNotice, Reply, Task } from '../protocol.js';
import { OpenBatches, type OpenBatch } from './open-batch.js';
import { Backlog, type Queued } from './backlog.js';
import { ChildTracker, type ChildRecord } from './child-tracker.js';
import { crashError, startupError } from './crash-report.js';
import { PendingCall } from './pending-call.js';
import type { PoolSettings } from './pool-settings.js';

const runnerFile = fileURLToPath(new URL('../child/runner.js', import.meta.url));
const megabyte = 1024 * 1024;
const exitGrace = 2_000;
let nextCallId = 1;
const noSignal = {};

export interface CallRequest {
  targetKey: string;
  input: CallTask[3];
  buffers: CallTask[4];
  label: string;
  timeout: number | undefined;
  signal: AbortSignal | undefined;
}

/**
 * One tinypool instance in `child_process` mode, and what it takes to make it safe:
 * - a call with an AbortSignal carries a signal of its own, so that it can be pulled out of
 *   tinypool's queue or have its child killed (only those: tinypool gives an abortable task a
 *   child to itself and a slower path); a call that times out in a batch has its child killed;
 * - a child's death becomes a ProcessCrashedError with its exit code, signal and stderr;
 * - when tinypool leaves calls queued with no child to run them (after a crash, an abort, or a
 *   child that died while booting), we start one or, if children cannot boot, reject the calls;
 * - tinypool's `'error'` event always has a listener, so a dying idle child never crashes the parent;
 * - other calls go in batches: one tinypool task that a child runs call after call, answering each
 *   at once on its IPC channel (run-batch.ts). Calls that find every child busy wait in a backlog
 *   (backlog.ts); a batch whose calls are all answered stays open until the event loop turns with
 *   no new call, and the next calls go straight to its child (open-batch.ts).
 */
export class ChildPool {
  readonly #tinypool: Tinypool;
  readonly #tracker: ChildTracker;
  /** Every call not yet settled, by id: queued in the backlog, in tinypool's queue, or running. */
  readonly #pending = new Map<number, Queued>();
  readonly #backlog = new Backlog();
  readonly #batches = new OpenBatches();
  /** Tinypool tasks (single calls or batches) sent and not yet answered, against `size × callsPerChild` slots. */
  #busySlots = 0;
  readonly #slots: number;
  #drained: (() => void) | undefined;
  #broken = false;
  /** Ref'd while calls are pending: tinypool unrefs children, and a queued call must keep the process alive. */
  #keepAlive: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    readonly settings: PoolSettings,
    private readonly onBroken: (pool: ChildPool) => void,
  ) {
    this.#slots = settings.size * settings.callsPerChild;
    this.#tinypool = new Tinypool({
      filename: runnerFile,
      runtime: 'child_process',
      minThreads: 0,
      maxThreads: settings.size,
      idleTimeout: settings.idleTimeout,
      env: childEnv(settings),
      execArgv: settings.execArgv,
      isolateWorkers: settings.isolate,
      concurrentTasksPerWorker: settings.callsPerChild,
      ...(settings.recycleAboveHeapMb !== undefined && {
        maxMemoryLimitBeforeRecycle: settings.recycleAboveHeapMb * megabyte,
      }),
      // 'json' would turn a BigInt into a crash of the parent; 'advanced' is v8's structured clone.
      serialization: 'advanced',
    } as ConstructorParameters<typeof Tinypool>[0]);
    this.#tinypool.on('error', (error: unknown) => this.#onChildLost(error));
    this.#tracker = new ChildTracker({ onNotice: (record, notice) => this.#onNotice(record, notice) });
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  run(request: CallRequest): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const { label, timeout, signal } = request;
      const id = nextCallId++;
      // A call with a signal goes alone, to tinypool's queue: only there can it be pulled out before
      // it starts. In an isolated pool every call goes alone: tinypool replaces the child after each
      // task. A call with a timeout goes in a batch, unless the child runs other calls beside it
      // (callsPerChild > 1), which the kill of a timeout would take with it.
      const alone =
        signal !== undefined || this.settings.isolate || (timeout !== undefined && this.settings.callsPerChild > 1);
      const call = new PendingCall(id, label, timeout, signal, alone, resolve, reject, (settled, failed) =>
        this.#settled(settled, failed),
      );
      if (signal?.aborted) {
        call.fail(new AbortError(`The call to ${label} was aborted before it started.`, { cause: signal.reason }));
        return;
      }
      const queued: Queued = {
        call,
        task: ['call', request.targetKey, id, request.input, request.buffers, timeout !== undefined],
      };
      if (this.#pending.size === 0) this.#holdOpen(true);
      this.#pending.set(id, queued);
      if (alone) this.#submitAlone(queued);
      else if (this.#batches.appendToIdle([queued])) return;
      else if (this.#busySlots < this.#slots) this.#submitBatch([queued]);
      else this.#backlog.push(queued);
    });
  }

  /**
   * Lets calls in flight finish, rejects those still running after `deadline` ms, then stops every
   * child. Calling it again with a shorter deadline tightens it.
   */
  close(deadline: number): Promise<void> {
    if (Number.isFinite(deadline)) {
      setTimeout(() => {
        for (const { call } of this.#pending.values()) {
          call.fail(new PoolClosedError(`${call.label} did not finish within the ${deadline} ms shutdown deadline.`));
        }
      }, deadline).unref();
    }
    this.#closing ??= this.#whenDrained().then(() => {
      clearInterval(this.#keepAlive);
      return this.#tinypool.destroy();
    });
    return this.#closing;
  }

  #whenDrained(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => (this.#drained = resolve));
  }

  /** Sends what waits in the backlog, in batches, to the slots that are free. */
  #dispatch(): void {
    while (this.#busySlots < this.#slots && this.#backlog.size > 0) {
      const batch = this.#backlog.take(this.#slots - this.#busySlots);
      if (batch.length > 0) this.#submitBatch(batch);
    }
  }

  /** A call alone in its task (one that can be stopped, or in an isolated pool), answered through tinypool. */
  #submitAlone(queued: Queued): void {
    const { call, task } = queued;
    this.#busySlots++;
    this.#tinypool.run(task, call.controller ? { signal: call.controller.signal } : noSignal).then(
      (reply: Reply) => {
        this.#answer(queued, reply);
        this.#slotFreed();
      },
      (error: unknown) => {
        this.#slotFreed();
        void this.#taskFailed([queued], error);
      },
    );
    this.#adopt();
  }

  #submitBatch(calls: Queued[]): void {
    this.#busySlots++;
    const batch = this.#batches.start(calls);
    const task: BatchTask = ['batch', batch.id, calls.map(({ task }) => task)];
    this.#tinypool.run(task, noSignal).then(
      (reply: Reply) => this.#batchClosed(batch, reply),
      (error: unknown) => {
        this.#batches.forget(batch);
        this.#slotFreed();
        void this.#taskFailed(batch.unanswered, error);
      },
    );
    this.#adopt();
  }

  /**
   * The child answered every call it ran before it closed the batch, on the same IPC channel, so
   * those answers are in. Calls still unanswered never started (it closed the batch before they
   * arrived, or stopped early): they go again.
   */
  #batchClosed(batch: OpenBatch, reply: Reply): void {
    this.#batches.forget(batch);
    this.#backlog.learn(reply.kind === 'batched' && reply.slow === true);
    this.#resend(batch.unanswered);
    this.#slotFreed();
  }

  /**
   * All its calls are answered. What waits in the backlog goes straight to its child, without a new
   * tinypool task. With nothing waiting, the batch stays open for a caller that awaits each call and
   * makes the next at once (microtasks run before setImmediate); otherwise it is closed.
   */
  #batchIdle(batch: OpenBatch): void {
    // The child ran all it was sent without stopping for a slow call.
    this.#backlog.learn(false);
    // tinypool holds tasks for a child (a call with an AbortSignal, say): a caller that makes call after
    // call would keep this batch open, and the child from them, for as long as it goes on.
    if (this.#tinypool.queueSize > 0) return batch.close();
    while (this.#backlog.size > 0) {
      const calls = this.#backlog.take(1);
      if (calls.length === 0) continue;
      if (this.#batches.appendTo(batch, calls)) return;
      this.#backlog.returnUnstarted(calls);
      break;
    }
    // An open batch holds its child and keeps this process alive: it must close once nothing comes.
    setImmediate(() => {
      if (batch.idle) batch.close();
    });
  }

  /** Calls that never started go again, first; those that went alone go alone again. */
  #resend(calls: Queued[]): void {
    for (const { call } of calls) this.#batches.release(call.id);
    this.#backlog.returnUnstarted(calls.filter(({ call }) => !call.alone));
    for (const queued of calls) if (queued.call.alone && !queued.call.settled) this.#submitAlone(queued);
  }

  #slotFreed(): void {
    this.#busySlots--;
    this.#adopt();
    this.#dispatch();
  }

  /** A child's answer to one call, whether it came as the reply to its task or on its own from a batch. */
  #answer(queued: Queued, reply: Reply): void {
    const { call } = queued;
    // A child past its call limit did not start this call: it goes again with the next free slot.
    if (reply.kind === 'retired') return this.#resend([queued]);
    if ('retiring' in reply && reply.retiring !== undefined) this.#retire(reply.retiring);
    call.succeed(reply);
  }

  /**
   * A tinypool task failed: its child died, or the pool stopped. `unanswered` are the calls of the
   * task its child had not answered, in the order it runs them (a batch's list stays current while
   * answers still arrive): the first was running, and gets the crash unless it has settled already
   * (a timeout killed the child). The others never started, and go to another child.
   */
  async #taskFailed(unanswered: Queued[], error: unknown): Promise<void> {
    const unsettled = () => unanswered.filter(({ call }) => !call.settled);
    if (unsettled().length === 0) return;
    const record = this.#tracker.recordOfExitError(error);
    if (!record) {
      const message = error instanceof Error ? error.message : String(error);
      for (const { call } of unsettled()) {
        call.fail(
          message === 'Terminating worker thread'
            ? new PoolClosedError(`The pool was shut down before ${call.label} finished.`)
            : new RunInProcessError(`The process pool failed to run ${call.label}: ${message}`, { cause: error }),
        );
      }
      return;
    }
    this.#wakeIfStalled();
    // Answers the child sent before it died are still in the pipe until it is closed.
    await Promise.race([record.closed, delay(exitGrace)]);
    const [running, ...unstarted] = [...unanswered];
    // A child replaced for reaching its call limit never started any of them.
    if (record.retiring) this.#resend(unsettled());
    else {
      if (running && !running.call.settled) running.call.fail(crashError(record, running.call.label));
      this.#resend(unstarted.filter(({ call }) => !call.settled));
    }
    this.#dispatch();
  }

  #onChildLost(error: unknown): void {
    // tinypool re-emits the child's 'error' here before our own listener on that child has seen it.
    process.nextTick(() => {
      this.#adopt();
      const record = this.#tracker.recordOfExitError(error);
      if (!record) return;
      if (!record.ready && !record.retiring) void this.#bootFailed(record);
      else this.#wakeIfStalled();
    });
  }

  /** A child died while booting. If none is left to run the queued calls, they would wait forever. */
  async #bootFailed(record: ChildRecord): Promise<void> {
    if (this.#tinypool.threads.length > 0 || this.#broken) return;
    this.#broken = true;
    this.onBroken(this);
    await Promise.race([record.closed, delay(exitGrace)]);
    const error = startupError(record, this.settings.execArgv);
    for (const { call } of this.#pending.values()) call.fail(error);
    await this.#tinypool.destroy();
  }

  #onNotice(record: ChildRecord, notice: ChildNotice): void {
    if (notice.runInProcess === 'reply') {
      const queued = this.#pending.get(notice.id);
      const batch = this.#batches.of(notice.id);
      if (batch) {
        this.#batches.release(notice.id);
        batch.answered(notice.id, record);
      }
      if (queued) this.#answer(queued, notice.reply);
      if (batch?.idle) this.#batchIdle(batch);
    } else if (notice.runInProcess === 'started') {
      // The child of a new batch is known from here on, before its first answer: a timeout may need to stop it.
      const batch = this.#batches.of(notice.id);
      if (batch) batch.child ??= record;
      this.#pending.get(notice.id)?.call.started();
    }
    else if (notice.runInProcess === 'fatal') record.fatal = notice.thrown;
  }

  #retire(pid: number): void {
    const record = this.#tracker.recordOfPid(pid);
    if (!record) return;
    record.retiring = true;
    // No more calls for it: they would only come back when it is gone.
    this.#batches.closeAllOf(record);
    record.process.kill();
  }

  /**
   * tinypool starts a child only when a task is submitted; a child that dies or is killed leaves
   * the queued tasks waiting for one. Submitting a no-op task makes tinypool start it.
   */
  #wakeIfStalled(): void {
    const pool = this.#tinypool;
    if (this.#broken || this.#pending.size === 0) return;
    if (pool.queueSize > 0 && pool.threads.length < this.settings.size) {
      pool.run(['wake'] satisfies Task).catch(() => {});
      this.#adopt();
    }
  }

  /**
   * A call in a batch failed (it timed out, say) while its child runs it: the child is killed, as
   * tinypool kills the child of a call that runs alone. The calls behind it go to another child.
   */
  #stopIfRunning(call: PendingCall): void {
    const batch = this.#batches.of(call.id);
    if (batch?.isRunning(call)) batch.child?.process.kill('SIGKILL');
  }

  /** One timer for the pool's life, ref'd and unref'd: cheaper than a new one per call. */
  #holdOpen(open: boolean): void {
    if (!open) {
      this.#keepAlive?.unref();
      return;
    }
    this.#keepAlive ??= setInterval(() => {}, 1 << 30);
    this.#keepAlive.ref();
  }

  #adopt(): void {
    this.#tracker.adopt(this.#tinypool.threads);
  }

  #settled(call: PendingCall, failed: boolean): void {
    if (failed) this.#stopIfRunning(call);
    this.#batches.release(call.id);
    this.#pending.delete(call.id);
    if (this.#pending.size === 0) {
      this.#holdOpen(false);
      this.#drained?.();
    }
    else if (call.controller?.signal.aborted) this.#wakeIfStalled();
  }
}

function childEnv(settings: PoolSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings.env)) if (value !== undefined) env[key] = value;
  if (settings.recycleAfterCalls !== undefined) env['RUN_IN_PROCESS_RECYCLE_AFTER'] = String(settings.recycleAfterCalls);
  // A batch that stays open checks its own heap: tinypool checks only when a task ends.
  if (settings.recycleAboveHeapMb !== undefined) env['RUN_IN_PROCESS_RECYCLE_ABOVE_HEAP'] = String(settings.recycleAboveHeapMb * megabyte);
  return env;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
