import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import Tinypool, { type Task as TinypoolTask, type TaskQueue } from 'tinypool';
import {
  BatchSlot,
  NoticeSlot,
  closeDescriptorsArgument,
  preloadArgument,
  TaskResultSlot,
  type BatchTask,
  type CallTask,
  type ChildNotice,
  type Steer,
  type Task,
  type TaskResult,
  type WakeTask,
  type WarmTask,
} from '../../protocol.js';
import { ChildStartupError, RunInProcessError } from '../../errors.js';
import type { PoolSettings } from '../settings.js';
import { libraryDir } from '../../shared/library-dir.js';
import { type ChildExit, type ChildSpawn, exitChannel, spawnChannel } from '../../shared/tracing.js';
import {
  type BatchLoss,
  type ChildCounts,
  closedWhileWarming,
  stuckWhileWarming,
  type StopReason,
  type Transport,
  type TransportEvents,
} from '../transport.js';
import { ChildTracker, type ChildRecord } from './child-tracker.js';
import { type LocalBatch, LocalBatches } from './local-batches.js';
import { markedAsOurs } from './child-fork.js';
import { isNotStarted, isNotStartedError } from './refused-fork.js';
import { exitReason, lossWithAbortedWorker, lossWithChild, toldItsStarts } from './child-ends.js';
import { preloadError, startupError, threwOutsideCalls } from './crash-report.js';
import { warnOnce } from '../../shared/warn-once.js';
import { splitLarge } from './deferred-calls.js';
import { inheritedDescriptors } from './inherited-descriptors.js';
import { reapWithParent } from './orphan-reaper.js';
import { catchTaskPorts, taskPortOf } from './task-ports.js';
import { IdleEnds } from './idle-ends.js';
import { Warming } from './warming.js';
import { guardInspector } from '../../shared/inspector-guard.js';
import { PatientTimer } from '../patient-timer.js';
import {
  nextTick,
  clearInterval,
  clearTimeout,
  perfNow,
  setImmediate,
  setInterval,
  setTimeout,
} from '../../shared/real-clock.js';

/**
 * Local child processes, on tinypool in `child_process` mode. This is the only file that imports
 * tinypool, and every use of its internals is here, each marked with the version it was read from
 * (2.2.0, pinned in package.json):
 * - `pool.threads`, each a ProcessWorker holding its ChildProcess in `.process`;
 * - `pool.queueSize`, the tasks waiting for a worker beyond those that children starting will take;
 * - the message 'Terminating worker thread' that rejects tasks when the pool is destroyed;
 * - an unexpected exit reaches us as an 'error' event on the ChildProcess (child-tracker.ts);
 * - a child that has booted says `{ ready: true }` on its IPC channel;
 * - it forks each child itself, and pipes its output into ours (both taken over in child-fork.ts);
 * - destroy() awaits the exit of children it has unref'd (see destroy() below);
 * - a child running a task holds the process through a MessagePort of tinypool's, made right after
 *   the child is forked (task-ports.ts): unref'd while the child runs only streams nobody waits on.
 * What it adds to tinypool: the children's answers and the parent's batch control on two pipes
 * beside tinypool's IPC channel (protocol.ts, shared/notice-frames.ts, shared/control-frames.ts),
 * crash reports with exit code, signal and stderr, a replacement child when tinypool leaves tasks
 * queued with none to run them, and the detection of children that cannot boot.
 */

const runnerFile = join(libraryDir, 'child', 'runner.js');
/** How long to wait for the answers a dead child sent before it died, still in the pipe. */
const exitGrace = 2_000;
/** How long a child has to exit after SIGTERM (retiring, or at shutdown) before it is killed. */
const stopGrace = 1_000;
const noSignal = {};

export class TinypoolTransport implements Transport {
  readonly runsIn: string;
  readonly sandboxed: boolean;
  readonly streaming = true;
  readonly capacity: number;
  readonly #tinypool: Tinypool;
  readonly #tracker = new ChildTracker({
    onNotice: (record, notice) => this.#onNotice(record, notice),
    onMalformed: (record, _message, why = 'sent a message that is not a well-formed notice') =>
      this.#misbehaved(record, why),
    // tinypool 2.2.0: a child that has loaded its handler says { ready: true, source: 'pool', … }.
    isReadyMessage: (message) => (message as { ready?: unknown } | null)?.ready === true,
    onReady: () => {
      this.#warming.check();
      // After tinypool has heard it too, and given it the first task of its queue.
      if (this.#parked.length > 0) setImmediate(() => this.#releaseParked());
    },
    // tinypool 2.2.0: a task's result comes back on its child's IPC channel as { source: 'port', result, … },
    // seen here before tinypool settles the task (it relays the message through a MessagePort).
    batchResultOf: (message) => {
      const response = message as { source?: unknown; result?: unknown } | null;
      const result = response?.source === 'port' ? response.result : undefined;
      if (!Array.isArray(result) || result[0] !== 'batch-end') return undefined;
      const id: unknown = result[TaskResultSlot.batch];
      return Number.isSafeInteger(id) ? (id as number) : undefined;
    },
    // The child that ran a batch, known even when none of its notices came (code in it that
    // redirected its notice pipe): the batch then waits for that child's end, not for ever.
    onBatchResult: (record, id) => void this.#claim(record, id),
    // tinypool 2.2.0: a task that threw in the child comes back as { source: 'port', error, … }; the
    // rejection it becomes names no child, so the child is noted here, with the error's text.
    isTaskFailure: (message) => {
      const response = message as { source?: unknown; error?: unknown } | null;
      return response?.source === 'port' && response.error !== null && response.error !== undefined;
    },
    onTaskFailure: (record, message) => {
      // A few at most: each is taken by the rejection that follows it (kept bounded all the same).
      if (this.#failedTasks.length >= 64) this.#failedTasks.shift();
      this.#failedTasks.push({ record, text: failureText((message as { error: unknown }).error) });
    },
    // tinypool 2.2.0 gives a child a task as { __tinypool_worker_message__, source: 'port', taskId, … }.
    sending: (record, message) => {
      const task = message as { __tinypool_worker_message__?: unknown; source?: unknown; taskId?: unknown } | null;
      if (task?.__tinypool_worker_message__ !== true || task.source !== 'port' || typeof task.taskId !== 'number')
        return;
      let given = this.#tasksGiven.get(record);
      if (!given) this.#tasksGiven.set(record, (given = new Set()));
      given.add(task.taskId);
      // Which batch: a child that never speaks of it still loses it when it dies (#pipesClosed).
      const payload = (message as { task?: unknown }).task;
      const id: unknown = Array.isArray(payload) && payload[0] === 'batch' ? payload[BatchSlot.id] : undefined;
      const batch = Number.isSafeInteger(id) ? this.#batches.get(id as number) : undefined;
      if (batch) batch.givenTo = record;
    },
    // tinypool 2.2.0 hears a child in its format say it is ready (source 'pool'), once, and answer
    // each task it was given (source 'port', its taskId), once. Anything else in that format is the
    // child's code speaking for the pool: tinypool would fail another task with it, or take the
    // child for broken, and the next call, not the sender's, would pay. It is dropped, and the child stopped.
    forged: (record, message) => {
      const said = message as {
        __tinypool_worker_message__?: unknown;
        source?: unknown;
        ready?: unknown;
        taskId?: unknown;
      } | null;
      if (typeof said !== 'object' || said === null || !said.__tinypool_worker_message__) return undefined;
      if (said.source === 'pool') {
        return said.ready === true && !record.ready
          ? undefined
          : "sent a message in the pool's own format that the pool did not ask for";
      }
      if (said.source !== 'port') return undefined;
      const given = this.#tasksGiven.get(record);
      if (typeof said.taskId === 'number' && given?.delete(said.taskId)) return undefined;
      return "answered, in the pool's own format, a task the pool did not give it";
    },
    onSpawn: (record) => {
      this.#watchBoot(record);
      record.closed.then(() => {
        this.#pipesClosed(record);
        // What it said of its failed tasks is taken by their rejections, which follow at once: an
        // entry left a while after its end was no task's (a message it forged), and could blame it
        // for another child's failure with the same text.
        void delay(exitGrace).then(() => this.#forgetFailures(record));
      });
      if (spawnChannel.hasSubscribers)
        spawnChannel.publish({ pool: this.settings.name, pid: record.pid } satisfies ChildSpawn);
    },
    onExit: (record, unexpected) => {
      const exit = this.#exitOf(record, unexpected);
      // A retired child was counted as it retired; an isolated pool's, replaced after its call, here.
      if (exit.reason === 'recycle' && !record.retiring) this.#recycled++;
      if (exitChannel.hasSubscribers) exitChannel.publish(exit);
      // A call it was running is told in its ProcessCrashedError; an idle child's end, nobody. Once
      // for each error and pool: a child started for each call may end the same way each time.
      // Judged after the tasks tinypool failed with it are handled (#taskFailed marks the child):
      // a batch it never spoke for, as a first call's may be, is not known to be its own before.
      // And once its IPC channel has closed: the error it sent before it exited may be read after
      // its exit is seen (a child whose descendants hold its pipes: a while later, at most).
      if (exit.reason === 'crash') {
        void Promise.race([record.closed, delay(exitGrace)]).then(() => {
          if (record.fatal) setImmediate(() => this.#warnIfIdle(record));
          if (record.ready && !this.#ranCalls(record)) this.#idleCrashed();
        });
      }
      // tinypool starts a child for waiting tasks only when one is submitted: after an exit (a child
      // that retired and left, with a wake-up task of ours on it, say), one may be needed. Not after
      // a failed boot, which #bootFailed judges: a replacement would most often fail the same way.
      if (!this.#destroying && record.ready) this.#wakeIfStalled();
    },
  });
  readonly #batches = new LocalBatches();
  /** Why the pool aborted tasks that no child had spoken for, and when: #exitOf tells their children's ends. */
  readonly #stopsUnseen: Array<{ reason: StopReason; at: number }> = [];
  /** Children that tinypool ends for our aborts (cancel()), until a while after their end. */
  readonly #abortedChildren = new Set<ChildRecord>();
  /** The tasks tinypool gave each child and that it has not answered yet (forged). */
  readonly #tasksGiven = new WeakMap<ChildRecord, Set<number>>();
  /** Children whose task failed in them, in the order they said so: #taskFailed finds its own by text. */
  readonly #failedTasks: Array<{ record: ChildRecord; text: string }> = [];
  readonly #queue = new AbortableTaskQueue((task) => this.#callsIn(task));
  /**
   * Batches held back from tinypool while its queue is not empty (#parks): run once a child is ready,
   * or a task ends, with the calls each holds.
   */
  readonly #parked: Array<{ id: number; run: () => void; fail: (error: Error) => void; calls: number }> = [];
  #broken = false;
  readonly #unhook: () => void;
  /** Set by destroy(): a child that ends from now on ends for the shutdown. */
  #destroying = false;
  readonly #warming = new Warming(() => this.#tracker.readyCount);
  /** The warm-up under way, shared by whoever asks for it meanwhile. */
  #warm: Promise<void> | undefined;
  /** A fork the system refused (refused-fork.ts): tinypool keeps no minimum of children after it. */
  #forkRefused: Error | undefined;
  /** Children that ran no call and ended by themselves (#idleCrashed), and the timer that ends a pause of the minimum. */
  readonly #idleEnds = new IdleEnds();
  #refillTimer: NodeJS.Timeout | undefined;
  /** Warm tasks given to tinypool and not yet done: each holds an idle child (#ping). */
  #warmTasks = 0;
  #recycled = 0;
  /**
   * The batches whose result tinypool has, waiting for their 'ended' notice, each with what gives
   * up its wait (at the end of destroy()). The event loop is held while there are some.
   */
  readonly #endWaits = new Map<number, () => void>();
  #endsHold: ReturnType<typeof setInterval> | undefined;
  /** Counts sends and stops, to tell whether a batch went to a child after the pool began to stop it. */
  #sequence = 0;
  /** When (in that count) the last task was aborted through tinypool (cancel()). */
  #abortedAt = 0;

  constructor(
    private readonly settings: PoolSettings,
    private readonly events: TransportEvents,
  ) {
    this.capacity = settings.size * settings.callsPerChild;
    // Said in messages: what a sandboxed child cannot do (a loader, a read) is not a plain child's fault.
    this.sandboxed = settings.sandboxed;
    this.runsIn = settings.sandboxed ? 'the sandboxed child process' : 'the child process';
    if (!existsSync(runnerFile)) throw filesMissing();
    // A sandboxed child may signal this process (shared/inspector-guard.ts).
    if (settings.sandboxed) guardInspector(`Sandboxed pool '${settings.name}' is used`);
    // Each child is known from the moment it is forked: even one tinypool starts on its own.
    const marked = markedAsOurs(settings.env, (child) => {
      catchTaskPorts(child);
      this.#tracker.adopt(child);
      if (settings.sandboxed) reapWithParent(child);
    });
    this.#unhook = marked.forget;
    this.#tinypool = new Tinypool({
      filename: runnerFile,
      runtime: 'child_process',
      minThreads: settings.minChildren,
      argv: childArguments(settings),
      maxThreads: settings.size,
      idleTimeout: settings.idleTimeout,
      env: marked.env,
      execArgv: settings.execArgv,
      isolateWorkers: settings.isolate,
      taskQueue: this.#queue,
      concurrentTasksPerWorker: settings.callsPerChild,
      // No maxMemoryLimitBeforeRecycle: tinypool would stop a child above it at the end of a task,
      // with the calls of its other batches still running. The child retires itself (run-batch.ts).
      // 'json' would turn a BigInt into a crash of the parent; 'advanced' is v8's structured clone.
      serialization: 'advanced',
    } as ConstructorParameters<typeof Tinypool>[0]);
    // Always a listener: a dying idle child must never crash the parent with an unhandled 'error'.
    this.#tinypool.on('error', (error: unknown) => this.#onChildLost(error));
    // tinypool 2.2.0 starts `minThreads` children in its constructor.
    this.#adoptChildren();
    // Warmed whether or not anyone awaits warmUp(); what fails is told at warmUp() or the first call.
    if (settings.minChildren > 0) this.warmUp().catch(() => {});
  }

  /**
   * Calls in batches that tinypool holds for a child: a busy one, or one still booting (the first
   * calls of a cold pool, those after a crash or a retirement, every batch of an isolated pool).
   * Not those of a batch that goes alone held for an idle child while the others take several calls
   * (tinypool 2.2.0's `skipQueue`, out of reach): it is counted as running.
   */
  get waiting(): number {
    let parked = 0;
    for (const task of this.#parked) parked += task.calls;
    return this.#queue.calls + parked;
  }

  /**
   * tinypool 2.2.0 starts a child for a task whenever it finds none idle and is below `size`, even
   * when the one it has is about to end its batch. An isolated pool starts one after each task anyway.
   */
  wouldStartWorker(): boolean {
    if (this.settings.isolate || this.#tinypool.threads.length >= this.settings.size) return false;
    // As tinypool counts: a child holding a batch, open or ending, has no room for another task.
    return this.#free() === 0;
  }

  /** The calls a task in tinypool's queue holds: those deferred until its child is known too (deferred-calls.ts). */
  #callsIn(task: Task): number {
    if (task[0] !== 'batch') return 0;
    return task[BatchSlot.calls].length + (this.#batches.get(task[BatchSlot.id])?.deferred?.length ?? 0);
  }

  submit(task: BatchTask, exclusive: boolean, stoppable: boolean): void {
    const id = task[BatchSlot.id];
    const batch = this.#batches.add(id, exclusive, stoppable);
    const options = batch.controller ? { signal: batch.controller.signal } : noSignal;
    batch.sentAt = ++this.#sequence;
    const { sent, deferred } = splitLarge(task);
    // The deferred calls count as they are appended.
    batch.unanswered = sent[BatchSlot.calls].length;
    batch.deferred = deferred;
    batch.closeAfterDeferred = deferred !== undefined && !task[BatchSlot.keepOpen];
    const run = (): Promise<TaskResult> => {
      try {
        return this.#tinypool.run(sent, options);
      } catch (error) {
        // What cannot be sent is refused before a call is made (call/recipe.ts); this is the backstop.
        return Promise.reject(error);
      }
    };
    const running = this.#parks()
      ? new Promise<TaskResult>((resolve, reject) => {
          const calls = this.#callsIn(sent);
          this.#parked.push({ id, run: () => void run().then(resolve, reject), fail: reject, calls });
        })
      : run();
    running.then(
      (result: TaskResult) => {
        batch.resultIn = true;
        clearTimeout(batch.resultDue);
        const end = () => {
          this.#forget(id);
          this.events.ended(id, Array.isArray(result) && result[TaskResultSlot.slow] === true);
        };
        if (batch.endNoticed || this.#batches.get(id) !== batch) end();
        else this.#awaitEndNotice(id, batch, end);
        this.#releaseParked();
      },
      (error: unknown) => {
        batch.resultIn = true;
        clearTimeout(batch.resultDue);
        void this.#taskFailed(id, error);
        this.#releaseParked();
      },
    );
    this.#adoptChildren();
  }

  /**
   * Whether a batch waits here rather than in tinypool's queue. tinypool 2.2.0 gives a child that
   * becomes ready, or that ends a task, one task of its queue (\`_onWorkerAvailable\` returns after
   * one), and queues every new task behind those: with \`callsPerChild\` above 1, the calls of a
   * burst on a booting child would then run one after another, each waiting for the one before to
   * end. Held here instead, they go once its queue is empty, and tinypool gives each to a child with
   * room at once. Batches that go alone (a stream, a call with an AbortSignal) wait here in order
   * too: tinypool serves the tasks it may abort before its queue, and a stream made after calls
   * held for a booting child took that child from them, for its whole life (a hostile review's).
   * One parked here is in no queue of tinypool's for an abort to take it from: cancel() takes it.
   */
  #parks(): boolean {
    if (this.settings.callsPerChild === 1) return false;
    return this.#parked.length > 0 || this.#queue.size > 0;
  }

  /** Runs the parked batches, in order, while tinypool's queue is empty (each run may fill it). */
  #releaseParked(): void {
    if (this.#parked.length === 0) return;
    while (this.#parked.length > 0 && this.#queue.size === 0) this.#parked.shift()?.run();
    this.#adoptChildren();
  }

  /**
   * tinypool has the batch's result, but its child's notices come on another pipe
   * (shared/notice-frames.ts): the batch ends once its 'ended' notice is read, after its answers.
   * That notice was written before the result, so it is on its way: the event loop is held until it
   * comes. If the child is known and its pipe closes first, the notices it wrote are all read, and
   * the batch is lost with the child (it did not say it ended it).
   */
  #awaitEndNotice(id: number, batch: LocalBatch, end: () => void): void {
    if (this.#endWaits.size === 0) this.#endsHold = setInterval(() => {}, 1_000);
    let waiting = true;
    const done = () => {
      if (!waiting) return false;
      waiting = false;
      batch.onEndNoticed = undefined;
      batch.onPipeClosed = undefined;
      this.#endWaits.delete(id);
      if (this.#endWaits.size === 0) clearInterval(this.#endsHold);
      return true;
    };
    batch.onEndNoticed = () => done() && end();
    batch.onPipeClosed = (child) => {
      if (!done()) return;
      this.#forget(id);
      this.events.lost(id, lossWithChild(child, batch.sentAt, this.settings));
    };
    // The pool is gone, and its children with it: nothing holds the process for this batch any more.
    this.#endWaits.set(id, () => {
      if (!done()) return;
      this.#forget(id);
      this.events.lost(id, { kind: 'closed' });
    });
  }

  /**
   * A child's pipes closed: a batch of its still waiting for its 'ended' notice will not get it. So
   * too one given to it that it never spoke of, whose result came all the same: its code forged
   * tinypool's answer, then died (a hostile review's; its call waited for ever).
   */
  #pipesClosed(record: ChildRecord): void {
    for (const batch of [...this.#batches.on(record), ...this.#batches.givenOnlyTo(record)])
      batch.onPipeClosed?.(record);
  }

  append(id: number, calls: CallTask[]): boolean {
    const batch = this.#batches.get(id);
    const child = batch?.child;
    // A batch stopped, or a child being stopped (a call on it timed out, was aborted), may still have
    // its channel open for a moment: a call sent there now would be lost with it, and blamed for its end.
    if (!child || batch.cancelled || child.retiring || child.stoppedFor) return false;
    if (!child.send(['run-in-process:append', id, calls])) return false;
    batch.unanswered += calls.length;
    return true;
  }

  steer(id: number, call: number, steer: Steer): boolean {
    const child = this.#batches.get(id)?.child;
    if (!child) return false;
    return child.send(['run-in-process:steer', id, call, steer]);
  }

  /**
   * tinypool holds the process while a child runs a task: not while all it runs are streams that
   * nobody waits on. Another task given to that child holds it again (tinypool refs its port for
   * each task), and so does the consumer that waits again.
   */
  release(id: number, released: boolean): void {
    const batch = this.#batches.get(id);
    if (!batch || batch.released === released) return;
    batch.released = released;
    this.#holdFor(batch.child);
  }

  #holdFor(record: ChildRecord | undefined): void {
    if (!record) return;
    let running = false;
    let held = false;
    for (const batch of this.#batches.on(record)) {
      running = true;
      if (!batch.released) held = true;
    }
    // With no batch left, tinypool refs and unrefs the port itself as tasks come and go.
    if (!running) return;
    const worker = this.#tinypool.threads.find(
      (thread) => (thread as { process?: ChildProcess }).process === record.process, // tinypool 2.2.0: ProcessWorker
    ) as { port?: MessagePort } | undefined;
    const port = taskPortOf(record.process, worker?.port);
    if (held) port?.ref();
    else port?.unref();
  }

  /** A batch ended or was lost: what its child still runs may no longer hold the process. */
  #forget(id: number): void {
    const child = this.#batches.get(id)?.child;
    // Over: what its calls' callbacks held of its child's notices no longer holds.
    child?.holdNotices(id, false);
    this.#batches.delete(id);
    this.#holdFor(child);
  }

  holdEmissions(id: number, held: boolean): void {
    this.#batches.get(id)?.child?.holdNotices(id, held);
  }

  close(id: number): void {
    const child = this.#batches.get(id)?.child;
    child?.send(['run-in-process:close', id]);
  }

  cancel(id: number, reason: StopReason): void {
    const batch = this.#batches.get(id);
    if (!batch) return;
    batch.cancelled = true;
    if (reason === 'stuck') batch.stuck = true;
    const parked = this.#parked.findIndex((task) => task.id === id);
    if (parked >= 0) {
      // Never given to tinypool, nor to a child: it fails as a batch stopped before it started.
      this.#parked.splice(parked, 1)[0]!.fail(new Error('stopped before it left the parent'));
      return;
    }
    if (batch.child) {
      batch.child.stoppedFor ??= reason;
      batch.child.stoppedAt ??= ++this.#sequence;
    }
    // A child known to run it is killed at once; otherwise tinypool drops the queued task, or kills
    // the child it gave it to. A call alone is always stopped through tinypool, which owns its child;
    // at shutdown its child is killed at once as well: the grace it had is spent (a stream's, in
    // stream-stops.ts, or the deadline), and tinypool's SIGTERM would add destroy()'s own grace.
    if (batch.child && (!batch.exclusive || reason === 'shutdown')) batch.child.process.kill('SIGKILL');
    if ((!batch.child || batch.exclusive) && batch.controller) {
      this.#abortedAt = ++this.#sequence;
      if (batch.child) this.#noteAbortedChild(batch.child);
      // tinypool's listener drops the task from its queue, or ends the worker running it; a task it
      // finished has no listener left. A throw there would not come back here: AbortableTaskQueue, below.
      const removals = this.#queue.removals;
      batch.controller.abort();
      // Taken from no queue, by a child no notice named: the exit of the child tinypool ends for it
      // is told with this reason (#exitOf), not as an idle child's.
      if (!batch.child && this.#queue.removals === removals) this.#noteStopUnseen(reason);
      // Not at a shutdown: a child started for what is left would be stopped as it boots.
      if (reason !== 'shutdown') this.#wakeIfStalled();
    }
  }

  /**
   * Waits for the children kept warm (at least one) to be ready, then has each run a no-op call
   * (child/warm-up.ts), so that the first real call finds both processes' call paths compiled.
   */
  warmUp(): Promise<void> {
    this.#warm ??= this.#warmUp().finally(() => {
      this.#warm = undefined;
    });
    return this.#warm;
  }

  workerReady(): Promise<void> {
    if (this.#tinypool.threads.length === 0) {
      try {
        this.#startChild();
      } catch (error) {
        // A fork that throws at once (E2BIG: an environment too large): told as the boot's failure.
        return Promise.reject(error);
      }
      this.#adoptChildren();
    }
    // Before the warm-up's own waiter (minChildren): the calls then take the ready child, and no
    // ping finds it free first and makes tinypool start another for them (a review's).
    return this.#warming.until(1, true);
  }

  async #warmUp(): Promise<void> {
    const count = Math.max(1, this.settings.minChildren);
    // An isolated pool replaces a child after each task: a ping would only swap a warm child for a cold one.
    const pings = !this.settings.isolate;
    // tinypool keeps `minThreads` alive; with none kept, a task starts one, which stays until idle.
    let starting: Promise<unknown> | undefined;
    if (this.settings.minChildren === 0 && this.#tinypool.threads.length === 0) {
      // An isolated pool's child is started without a task: one would use it up (it is replaced
      // after each task), and the first call would find none warm.
      // Its time limit counts once a child is ready: the boot has startTimeout of its own.
      if (pings) starting = this.#ping(this.#warming.until(1));
      else this.#startChild();
      this.#adoptChildren();
    }
    // tinypool 2.2.0 no longer keeps `minThreads` once a child failed as it started: after a fork
    // the system refused, children missing from minChildren would be waited for in vain.
    if (this.#forkRefused && this.#tinypool.threads.length < count) {
      throw new ChildStartupError(
        `${this.#forkRefused.message} The pool has ${this.#tinypool.threads.length} of its ${count} warm children ` +
          `(minChildren), and does not start the others by itself after that: configure() it again, or shutdown(), to have them started.`,
        null,
        null,
        '',
      );
    }
    if (this.#refillTimer) throw this.#refillPaused();
    await this.#warming.until(count);
    if (!pings) return;
    // Only idle children: a ping sent while calls hold them all would make tinypool start another.
    const pinged = await Promise.all([
      starting,
      ...Array.from({ length: starting ? 0 : this.#free() }, () => this.#ping()),
    ]);
    // The pool shut down or broke meanwhile: the pings were dropped, and warmUp() fails as it would have.
    const failure = this.#warming.failure;
    if (failure) throw failure;
    const stuck = pinged.find((outcome) => outcome instanceof Error);
    if (stuck) throw stuck;
  }

  /**
   * tinypool gives it to an idle child, if any; one lost meanwhile warms nobody, and is not an error
   * here. One that has not done its warm-up within startTimeout is stuck (code in it blocks its event
   * loop, or stopped it, once it was ready): tinypool ends it (SIGTERM, SIGKILL a second later) and
   * starts another, and warmUp() fails, saying so. A ping with a signal goes only to a child that
   * runs nothing, and the child takes nothing else meanwhile, as a child warming up would not anyway.
   */
  async #ping(ready: Promise<void> = Promise.resolve()): Promise<Error | undefined> {
    this.#warmTasks++;
    const stuck = new AbortController();
    const limit = this.settings.startTimeout;
    let settled = false;
    let timer: PatientTimer | undefined;
    ready.then(
      () => {
        // Not for time this process did not listen (patient-timer.ts).
        if (!settled) {
          timer = new PatientTimer(
            limit,
            () => {
              if (settled) return;
              // Its exit is told as a timeout's (not ready in time), not as an idle child's.
              this.#noteStopUnseen('stuck');
              stuck.abort();
            },
            true,
          );
        }
      },
      () => {}, // No child came: the ping fails with the pool, or waits for the next one.
    );
    try {
      await this.#tinypool.run(['warm'] satisfies WarmTask, { signal: stuck.signal });
      return undefined;
    } catch {
      if (!stuck.signal.aborted) return undefined;
      return stuckWhileWarming(limit);
    } finally {
      settled = true;
      timer?.clear();
      this.#warmTasks--;
      this.#releaseParked();
    }
  }

  children(): ChildCounts {
    // A child the pool is stopping (a call's timeout or abort killed it) runs nothing and takes no
    // call: left out, as it is once it has exited, not counted busy for the moments it takes to die.
    const children = this.#tinypool.threads.filter((worker) => {
      const child = (worker as { process?: ChildProcess }).process; // tinypool 2.2.0: ProcessWorker.process
      return child === undefined || this.#tracker.recordOf(child)?.stoppedAt === undefined;
    }).length;
    // A child still booting that tinypool has dropped already (a shutdown past its deadline) is
    // one of ours still, and none of its: counted as starting, among no more than tinypool's.
    const starting = Math.min(this.#tracker.starting, children);
    // A child running its warm-up is busy too: it takes no call until it is done. One whose calls are
    // all answered runs nothing, and takes the next call; not in an isolated pool, where it is replaced.
    const running = this.settings.isolate ? this.#batches.holding(false) : this.#batches.running();
    const busy = Math.min(children - starting, running + this.#warmTasks);
    return { busy, idle: Math.max(0, children - starting - busy), starting, recycled: this.#recycled };
  }

  /** The children with no batch at all, as tinypool counts them: one it gives a task to forks no other. */
  #free(): number {
    const children = this.#tinypool.threads.length - this.#tracker.starting;
    return Math.max(0, children - Math.min(children, this.#batches.holding() + this.#warmTasks));
  }

  /**
   * tinypool 2.2.0's destroy() SIGTERMs each child, then awaits the exit of processes it has
   * unref'd: a child that ignores SIGTERM would leave it waiting with nothing to keep the event
   * loop alive, and an ESM app would exit with code 13 at its `await shutdown()`. So the loop is
   * held, and a child still alive after the grace is killed.
   */
  async destroy(killAt?: number): Promise<void> {
    // Its children stop at shutdown(), and when configure() replaces them: warmUp() then warms the new ones.
    this.#warming.fail(closedWhileWarming());
    this.#destroying = true;
    // As tinypool rejects the tasks of its queue (#taskFailed takes these words for the pool's close).
    for (const task of this.#parked.splice(0)) task.fail(new Error('Terminating worker thread'));
    // tinypool internal (2.2.0): a task result that comes after destroy() (an isolated pool's call,
    // answered on the notice pipe before tinypool heard of its end) makes tinypool replace the child
    // it recycles, up to minThreads: a child forked after the fork hook is gone, which nothing stops.
    this.#tinypool.options.minThreads = 0;
    clearTimeout(this.#refillTimer);
    const hold = setInterval(() => {}, 1_000);
    const grace = killAt === undefined ? stopGrace : Math.min(stopGrace, Math.max(0, killAt - perfNow()));
    const kill = setTimeout(() => {
      for (const record of this.#tracker.live) record.process.kill('SIGKILL');
    }, grace);
    try {
      await this.#tinypool.destroy();
      // Children tinypool no longer counts, stopped just before (a stream given up on at the
      // deadline), may still be exiting: the pool is closed once they are gone too.
      await Promise.all([...this.#tracker.live].map(exitOf));
    } finally {
      clearInterval(hold);
      clearTimeout(kill);
      this.#unhook();
      // A child that exited may still have its pipes held open (by what it started): its batches
      // waiting for an 'ended' notice would hold the process for ever.
      for (const abandon of [...this.#endWaits.values()]) abandon();
    }
  }

  /** Whether a child that ended was running calls, or had lost some with it. */
  #ranCalls(record: ChildRecord): boolean {
    return record.lostBatches || [...this.#batches.on(record)].some((batch) => batch.unanswered > 0);
  }

  /**
   * A child ended by itself while it ran no call: when the ends call for it (idle-ends.ts), the pool
   * stops keeping its minimum for a while, and warns once. Calls still start children as they need them.
   */
  #idleCrashed(): void {
    const canPause = this.settings.minChildren > 0 && !this.#refillTimer && !this.#destroying;
    const pause = this.#idleEnds.ended(canPause);
    if (pause === undefined) return;
    warnOnce(
      'RUN_IN_PROCESS_CHILDREN_END_IDLE',
      this.settings.name,
      () =>
        `${this.#endingIdle()} The pool waits ${pause} ms (doubling, up to 30 s, while it goes on) before it ` +
        'starts the children minChildren keeps again.',
    );
    this.#tinypool.options.minThreads = 0;
    // Nothing would start the children a warmUp() waits for meanwhile, and the wait holds nothing.
    this.#warming.failWaiting(this.#refillPaused());
    this.#refillTimer = setTimeout(() => {
      this.#refillTimer = undefined;
      if (this.#destroying) return;
      this.#tinypool.options.minThreads = this.settings.minChildren;
      // tinypool keeps its minimum again from its next child's end or recycle. Started here only while no
      // child is idle: the task that starts one (#startChild) would go to an idle child, and its
      // withdrawal would end it.
      if (this.#free() === 0) {
        for (let count = this.#tinypool.threads.length; count < this.settings.minChildren; count++) this.#startChild();
      }
      this.#adoptChildren();
    }, pause);
    this.#refillTimer.unref();
  }

  /** What the pool says of children that end by themselves while idle (#idleCrashed). */
  #endingIdle(): string {
    return (
      `Children of pool ${this.settings.name} end by themselves while they run no call (${this.#idleEnds.recent} ` +
      `in 10 s): code in them (a preload module's, say) exits or throws once it has loaded.`
    );
  }

  /** Why warmUp() does not wait while the pool does not keep its minimum (#idleCrashed). */
  #refillPaused(): ChildStartupError {
    return new ChildStartupError(
      `${this.#endingIdle()} The pool does not keep its warm children for a while: warmUp() cannot wait for them. ` +
        `Check the pool's preload modules.`,
      null,
      null,
      '',
    );
  }

  /** A child that crashed failing no call: nobody was told why (see onExit). */
  #warnIfIdle(record: ChildRecord): void {
    // A call lost with it is told why; where the child said which calls ran as it threw, the others
    // went to another child, and were told nothing.
    const blamed = record.fatalRunning ? record.fatalBlamed : this.#ranCalls(record);
    if (blamed) return;
    const threw = threwOutsideCalls(record, this.settings.name);
    if (threw) warnOnce('RUN_IN_PROCESS_CHILD_THREW', `${this.settings.name}\0${threw.subject}`, () => threw.message);
  }

  /**
   * A task failed: its child died, or the pool stopped. Answers the child sent before it died are
   * still in the pipe until it is closed; only then is it known which call was running.
   */
  async #taskFailed(id: number, error: unknown): Promise<void> {
    if (this.#batches.get(id)?.endNoticed) {
      // Its child said it ended it, after its answers: what it has not answered never started,
      // whatever became of the child since (its result lost on a channel it wrote part of a message
      // on, and stopped for it: #expectResult). Those calls go to another child, not failed as crashed.
      this.#forget(id);
      this.events.ended(id, false);
      return;
    }
    const record = this.#tracker.recordOfExitError(error);
    // A batch whose calls were all answered (kept open for more) lost nothing: its child's end,
    // blamed on no call, is told as an idle child's (#warnIfIdle).
    if (record && (this.#batches.get(id)?.unanswered ?? 1) > 0) record.lostBatches = true;
    let loss: BatchLoss;
    if (!record && this.#batches.get(id)?.cancelled) {
      // Stopped for the call in front, which has failed already; those behind it never started. Or
      // stopped because its worker never started the call in front (stuck): that one goes again too.
      loss = {
        kind: 'crashed',
        error: (label) => new RunInProcessError(`${label} was stopped with its batch.`),
        startsTold: this.#batches.get(id)?.stuck === true,
      };
    } else if (record) {
      this.#wakeIfStalled();
      await Promise.race([record.closed, delay(exitGrace)]);
      loss = lossWithChild(record, this.#batches.get(id)?.sentAt ?? 0, this.settings);
    } else if (error instanceof Error && error.message === 'Terminating worker thread') {
      // tinypool 2.2.0: the text it rejects a task with when it ends its worker: at destroy(), or
      // when one of our aborts (cancel()) ended the worker that ran the aborted task.
      // As things stood when tinypool failed it: a later abort must not count against it.
      const [sentAt, abortedAt] = [this.#batches.get(id)?.sentAt ?? 0, this.#abortedAt];
      const oneTaskPerChild = this.settings.callsPerChild === 1;
      const unstarted = !this.#destroying && !oneTaskPerChild && (await this.#noChildStarted(id));
      loss = this.#destroying
        ? { kind: 'closed' }
        : lossWithAbortedWorker(sentAt, abortedAt, oneTaskPerChild, unstarted);
    } else {
      const broken = this.#childThatFailed(id, error);
      if (broken) {
        // The child's own side of the task failed: the library's code there always answers, so code
        // of the user's broke that process (a polluted prototype, a process function replaced). It
        // would fail every call it is given, each blamed on that call: it is stopped, and replaced.
        this.#misbehaved(
          broken,
          `failed in the library's own code while it ran a batch (${failureText(error)}): code in the child broke ` +
            `the process (a polluted prototype, a replaced process function?)`,
        );
        await Promise.race([broken.closed, delay(exitGrace)]);
        loss = lossWithChild(broken, this.#batches.get(id)?.sentAt ?? 0, this.settings);
      } else {
        loss = { kind: 'failed', error };
      }
    }
    this.#forget(id);
    this.events.lost(id, loss);
  }

  /**
   * Whether no child started a batch that tinypool failed as it ended a worker for an abort: each
   * child ended so (tinypool ends no other) told its starts, and has closed its pipes, so that all it
   * told was read, and none spoke of the batch. False when that cannot be known: an abort whose
   * child was not known yet (tinypool then ended a worker no notice named).
   */
  async #noChildStarted(id: number): Promise<boolean> {
    this.#forgetOldStops();
    const ended = [...this.#abortedChildren];
    if (this.#stopsUnseen.length > 0 || ended.length === 0 || !ended.every(toldItsStarts)) return false;
    const allRead = Promise.all(ended.map((record) => record.closed)).then(() => true);
    const read = await Promise.race([allRead, delay(exitGrace).then(() => false)]);
    // Read to the end, and still telling (not stopped meanwhile for what it wrote): none named it.
    const batch = this.#batches.get(id);
    return read && ended.every(toldItsStarts) && batch !== undefined && batch.child === undefined;
  }

  /** The child whose own side of a task failed with `error`: the batch's, or the one that said so. */
  #childThatFailed(id: number, error: unknown): ChildRecord | undefined {
    const text = failureText(error);
    const at = this.#failedTasks.findIndex((failure) => failure.text === text);
    const said = at < 0 ? undefined : this.#failedTasks.splice(at, 1)[0]?.record;
    return this.#batches.get(id)?.child ?? said;
  }

  #forgetFailures(record: ChildRecord): void {
    for (let at = this.#failedTasks.length - 1; at >= 0; at--)
      if (this.#failedTasks[at]?.record === record) this.#failedTasks.splice(at, 1);
  }

  #onNotice(record: ChildRecord, notice: ChildNotice): void {
    const { batch, call, answer, thrown } = NoticeSlot;
    switch (notice[0]) {
      case 'run-in-process:opened':
        if (this.#claim(record, notice[batch])) this.#sendDeferred(notice[batch]);
        break;
      case 'run-in-process:started':
        if (this.#claim(record, notice[batch])) this.events.started(notice[batch], notice[call], record.pid);
        break;
      case 'run-in-process:importing':
        if (this.#claim(record, notice[batch])) this.events.started(notice[batch], notice[call], record.pid, true);
        break;
      case 'run-in-process:imported':
        if (this.#claim(record, notice[batch])) this.events.imported?.(notice[batch], notice[call]);
        break;
      case 'run-in-process:ran':
        if (this.#claim(record, notice[batch]))
          this.events.ran(notice[batch], notice[call], notice[NoticeSlot.startedAt], notice[NoticeSlot.endedAt]);
        break;
      case 'run-in-process:answer':
        if (this.#claim(record, notice[batch])) {
          const answered = this.#batches.get(notice[batch]);
          // A child may answer a call twice (the scheduler keeps the first): not below none.
          if (answered && answered.unanswered > 0) answered.unanswered--;
          this.events.answered(notice[batch], notice[call], notice[answer], record.pid);
        }
        break;
      case 'run-in-process:emit':
        if (this.#claim(record, notice[batch]))
          this.events.emitted(notice[batch], notice[call], notice[NoticeSlot.emission]);
        break;
      case 'run-in-process:ended':
        if (this.#claim(record, notice[batch])) {
          const ended = this.#batches.get(notice[batch])!;
          ended.endNoticed = true;
          ended.onEndNoticed?.();
          if (!ended.resultIn) this.#expectResult(record, notice[batch], ended);
        }
        break;
      case 'run-in-process:retiring':
        this.#retire(record);
        break;
      case 'run-in-process:control-on-ipc':
        record.controlOnIpc();
        break;
      case 'run-in-process:leaving':
        this.#retire(record);
        record.leaving = true;
        break;
      case 'run-in-process:fatal':
        record.fatal = notice[thrown];
        record.fatalRunning = notice[NoticeSlot.running] ? new Set(notice[NoticeSlot.running]) : undefined;
        break;
      case 'run-in-process:preload-failed':
        // Only a child still booting imports the preload, and only what the pool preloads: another
        // that says so is lying, and would fail every child's calls.
        if (record.ready || !this.settings.preload.includes(notice[NoticeSlot.module]))
          this.#misbehaved(record, 'said it could not import a module it was not importing');
        else {
          record.preloadFailed = true;
          this.#failBoot(preloadError(notice[NoticeSlot.module], notice[NoticeSlot.preloadThrown]));
        }
        break;
    }
  }

  /**
   * The calls of a batch sent without them (deferred-calls.ts), now that its child is known. If they
   * cannot be sent, the child is dying: its task fails, and calls it never got go again.
   */
  #sendDeferred(id: number): void {
    const batch = this.#batches.get(id);
    const calls = batch?.deferred;
    if (!batch || !calls) return;
    batch.deferred = undefined;
    // Stopped meanwhile: it ends with none of them, and what it was to run goes again.
    if (batch.cancelled) this.close(id);
    else if (this.append(id, calls) && batch.closeAfterDeferred) this.close(id);
  }

  /** Only the child that runs a batch speaks for it; another that names it is lying, and is stopped. */
  #claim(record: ChildRecord, id: number): boolean {
    const batch = this.#batches.get(id);
    const known = batch?.child !== undefined;
    const claim = this.#batches.claim(record, id);
    // Its child is known only now: a stream released before it started lets go of it now.
    if (!known && batch?.released) this.#holdFor(record);
    if (claim === 'another child') this.#misbehaved(record, `spoke for batch ${id}, which another child runs`);
    return claim === 'its own';
  }

  /**
   * The child said it ended a batch; tinypool's result for it comes on the IPC channel, written right
   * after. One that does not come within startTimeout: the channel is stuck (code in the child wrote
   * part of a message on it, fd 3, and the parent's reader waits for the rest, taking whatever comes
   * after for it), or the child's event loop is blocked (code it left running after its answer), and
   * it takes no call either way. The batch would hold its slot, and every later call would wait, for
   * ever without a timeout: the child is stopped instead. Its calls are all answered: none is lost.
   * (After a timer, a turn more: a result already read but not yet handled counts.)
   */
  #expectResult(record: ChildRecord, id: number, batch: LocalBatch): void {
    const bound = this.settings.startTimeout;
    batch.resultDue = setTimeout(() => {
      setImmediate(() => {
        if (batch.resultIn || this.#batches.get(id) !== batch) return;
        this.#misbehaved(
          record,
          `said it ended a batch, but the batch's end did not follow on its IPC channel within ${bound} ms ` +
            `(startTimeout): its event loop was blocked that long after it answered, or code in it wrote part of a ` +
            `message on that channel (fd 3), which must not be written to`,
        );
      });
    }, bound).unref();
  }

  #misbehaved(record: ChildRecord, why: string): void {
    // Heard after it exited: the end of it is known, and what came later on its pipes is a
    // descendant's that holds them (a process it started detached), not a reason it ended.
    if (record.process.exitCode !== null || record.process.signalCode !== null) return;
    record.misbehaved ??= why;
    record.stoppedAt ??= ++this.#sequence;
    record.process.kill('SIGKILL');
  }

  /**
   * It takes no more calls, and exits by itself once the calls it runs are answered (child/runner.ts);
   * what it did not start goes to another child. It is not killed meanwhile: that would lose a call
   * it still runs in another batch (callsPerChild above 1), or one whose child said so falsely.
   */
  #retire(record: ChildRecord): void {
    if (record.retiring) return;
    record.retiring = true;
    this.#recycled++;
  }

  /** What `run-in-process:child:exit` says of a child that ended. */
  #exitOf(record: ChildRecord, unexpected: boolean): ChildExit {
    let reason = exitReason(record, unexpected, {
      destroying: this.#destroying,
      broken: this.#broken,
      isolate: this.settings.isolate,
    });
    // tinypool ended it as it ended it for an idle timeout, but right after one of our aborts that
    // took a task from no queue: it was that task's child, which never spoke for its batch (a
    // child stopped or stuck before it started the call). Within a grace: one is not told whose.
    if (reason === 'idle' || (reason === 'recycle' && this.settings.isolate)) {
      this.#forgetOldStops();
      const stop = this.#stopsUnseen.shift();
      if (stop) reason = stop.reason === 'stuck' ? 'timeout' : stop.reason;
    }
    return { pool: this.settings.name, pid: record.pid, exitCode: record.exitCode, signal: record.signal, reason };
  }

  /** A child tinypool ends for one of our aborts: kept a while after its end, for #noChildStarted. */
  #noteAbortedChild(record: ChildRecord): void {
    if (this.#abortedChildren.has(record)) return;
    this.#abortedChildren.add(record);
    void record.closed.then(() => setTimeout(() => this.#abortedChildren.delete(record), exitGrace).unref());
  }

  #noteStopUnseen(reason: StopReason): void {
    this.#forgetOldStops();
    this.#stopsUnseen.push({ reason, at: perfNow() });
  }

  /** An abort whose child did not end within the grace took no child (its task had just finished). */
  #forgetOldStops(): void {
    const now = perfNow();
    while (this.#stopsUnseen.length > 0 && now - (this.#stopsUnseen[0]?.at ?? 0) > exitGrace) this.#stopsUnseen.shift();
  }

  #onChildLost(error: unknown): void {
    // tinypool re-emits the child's 'error' here before our own listener on that child has seen it.
    nextTick(() => {
      if (isNotStartedError(error)) {
        // A child the system would not start (refused-fork.ts): with none left to run them, the calls
        // fail now, saying why, and the next call starts the pool again, as after a failed boot.
        this.#warming.failWaiting(error);
        this.#forkRefused = error;
        if (this.#tinypool.threads.length === 0) this.#failBoot(error);
        // Others are alive: what waits for a child of its own waits for them, and a child is tried
        // again in a second (the descriptors may be back), as long as something waits.
        else setTimeout(() => this.#wakeIfStalled(), 1_000).unref();
        return;
      }
      this.#adoptChildren();
      const record = this.#tracker.recordOfExitError(error);
      if (!record) return;
      if (!record.ready && !record.retiring) void this.#bootFailed(record);
      else this.#wakeIfStalled();
    });
  }

  /**
   * A child that is not ready within startTimeout is stuck booting (a preload module whose top-level
   * await never settles, say): tinypool holds the process for it and warmUp() would wait for ever.
   * It is killed, and its boot fails as a crash at boot does (#bootFailed).
   */
  #watchBoot(record: ChildRecord): void {
    const limit = this.settings.startTimeout;
    // Its word that it is ready may wait to be read after this process's event loop was blocked (patient-timer.ts).
    const watch = new PatientTimer(
      limit,
      () => {
        if (record.ready || record.exitCode !== null || record.signal !== null) return;
        record.bootTimedOut = limit;
        record.stoppedAt ??= ++this.#sequence;
        record.process.kill('SIGKILL');
      },
      true,
    );
    watch.hold(false);
  }

  /**
   * A child died while booting. Whoever waits for a warm pool is told at once: a replacement would
   * most often fail the same way, one startTimeout later. If no child is left to run the queued
   * tasks, they would wait forever: the pool is broken.
   */
  async #bootFailed(record: ChildRecord): Promise<void> {
    const noneLeft = this.#tinypool.threads.length === 0;
    await Promise.race([record.closed, delay(exitGrace)]);
    const error = startupError(record, this.settings);
    this.#warming.failWaiting(error);
    if (noneLeft) this.#failBoot(error);
  }

  /** No child can start: every call, and whoever waits for a warm pool, gets the error. */
  #failBoot(error: Error): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#warming.fail(error);
    this.events.broken(error);
  }

  /**
   * tinypool starts a child only when a task is submitted; a child that dies or is killed leaves
   * the queued tasks waiting for one. Submitting a no-op task makes tinypool start it.
   */
  #wakeIfStalled(): void {
    const pool = this.#tinypool;
    if (this.#broken || pool.threads.length >= this.settings.size) return;
    // Batches that go alone wait in a queue of tinypool's that queueSize does not count: with no
    // child left, batches in flight wait there.
    if (pool.queueSize === 0 && !(pool.threads.length === 0 && this.#batches.size > 0)) return;
    this.#startChild();
    this.#adoptChildren();
  }

  /**
   * Has tinypool start a child, with no task for it: a no-op task withdrawn as soon as submitted.
   * tinypool has started the child by then (2.2.0: run() starts one before it queues a task, with
   * tasks queued or no child at all), and a task that is aborted while queued is only taken out of
   * the queue. Left queued, the no-op would wait among the calls, and count as one; in an isolated
   * pool it would use up a child of its own, whose exit would queue another, without end.
   */
  #startChild(): void {
    const withdraw = new AbortController();
    this.#tinypool.run(['wake'] satisfies WakeTask, { signal: withdraw.signal }).catch(() => {});
    withdraw.abort();
  }

  /** Watches the children tinypool started since the last look. Cheap: pools are small. */
  #adoptChildren(): void {
    for (const worker of this.#tinypool.threads) {
      const child = (worker as { process?: ChildProcess }).process; // tinypool 2.2.0: ProcessWorker.process
      if (child && !isNotStarted(child)) this.#tracker.adopt(child);
    }
  }
}

/**
 * tinypool 2.2.0's task queue, but one whose `remove()` does not assert that the task is in it.
 * With callsPerChild above 1, tinypool moves a task with an AbortSignal (a batch that goes alone)
 * that reaches a busy child into a second queue of its own (`skipQueue`); aborted there, the task
 * is looked for here, and the failed assertion, thrown inside an abort listener, would end this
 * process as an uncaught exception. Such a task is made a no-op instead: tinypool still gives it to
 * a child later, which then runs nothing of the call (its caller has its AbortError already).
 */
class AbortableTaskQueue implements TaskQueue {
  readonly #tasks: TinypoolTask[] = [];
  /** How many tasks tinypool took out (aborted while they waited): an abort that takes none ends a child. */
  removals = 0;

  constructor(private readonly callsIn: (task: Task) => number) {}

  /** The calls its tasks hold (a few tasks at most: the scheduler gives tinypool one per slot). */
  get calls(): number {
    let calls = 0;
    for (const task of this.#tasks) calls += this.callsIn((task as unknown as { task: Task }).task); // tinypool 2.2.0: TaskInfo.task
    return calls;
  }

  get size(): number {
    return this.#tasks.length;
  }

  shift(): TinypoolTask | null {
    return this.#tasks.shift() ?? null;
  }

  push(task: TinypoolTask): void {
    this.#tasks.push(task);
  }

  remove(task: TinypoolTask): void {
    this.removals++;
    const index = this.#tasks.indexOf(task);
    if (index >= 0) this.#tasks.splice(index, 1);
    else (task as unknown as { task: unknown }).task = ['wake'] satisfies WakeTask; // tinypool 2.2.0: TaskInfo.task
  }

  cancel(): void {
    for (const task of this.#tasks.splice(0)) task.cancel();
  }
}

/** What a child is told on its command line: the modules to preload; in a sandbox, the descriptors to close. */
function childArguments(settings: PoolSettings): string[] {
  const argv: string[] = [];
  if (settings.preload.length > 0) argv.push(preloadArgument, JSON.stringify(settings.preload));
  const inherited = settings.sandboxed ? inheritedDescriptors() : [];
  if (inherited.length > 0) argv.push(closeDescriptorsArgument, JSON.stringify(inherited));
  return argv;
}

function exitOf(record: ChildRecord): Promise<void> {
  const child = record.process;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** tinypool 2.2.0 passes a child's error on as a plain object: its message, or what it is. */
function failureText(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * The child's entry is a file of the library that a child process loads by path: not there when an
 * app bundles the library into its own code (esbuild, webpack, Rollup, ncc), where the library's
 * path-based pieces (this entry, tinypool's own child entry, the declaring module of a call) cannot
 * work. Said when the first pool starts, rather than as a child that fails to boot. Or not there any
 * more: the app's files were removed while it ran.
 */
function filesMissing(): RunInProcessError {
  // The very file running this is gone too: the library was installed, and its files removed since
  // the app started (a release folder deleted after a deploy switched to the next, a reinstall).
  if (!existsSync(new URL(import.meta.url))) {
    return new RunInProcessError(
      `run-in-process cannot start child processes: its files were removed while this app ran (its child entry ` +
        `${runnerFile} is gone, and so is the file of the library running now: a release folder deleted, ` +
        `node_modules reinstalled?). Restart the app from where it is installed now; a deploy should delete an ` +
        `old release only once the processes started from it have ended.`,
    );
  }
  return new RunInProcessError(
    `run-in-process cannot start child processes: its child entry ${runnerFile} is missing. The library ` +
      `was probably bundled into the app's code. Keep run-in-process and tinypool external to the bundler ` +
      `(esbuild: --external:run-in-process --external:tinypool, or --packages=external; webpack: externals; ` +
      `Rollup: external) and install them beside the bundle, or reinstall the package if its files were removed.`,
  );
}
