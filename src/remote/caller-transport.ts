import { encodeThrown } from '../codec/thrown-encode.js';
import {
  type JobLostError,
  NoWorkerError,
  RunInProcessError,
  TransportUnavailableError,
  usageError,
  WorkerLostError,
} from '../errors.js';
import { BatchSlot, CallSlot, type Answer, type BatchTask, type CallTask, type Target } from '../protocol.js';
import {
  type ChildCounts,
  lossError,
  type StopReason,
  type Transport,
  type TransportEvents,
} from '../pool/transport.js';
import { failureOf } from '../pool/call-stats.js';
import {
  answerNotStored,
  type CallPart,
  finishedJobKeptSeconds,
  type OpenedAnswers,
  openAnswers,
  sealCall,
  sealJob,
  openProgress,
  openReleased,
  shown,
} from './envelope.js';
import { maskCredentials, noSuchDatabase, refusedByAcl, refusedCredentials } from './connection.js';
import { HeldWords } from './held-words.js';
import type { QueueLink } from './queue-link.js';
import { remoteKey, targetLabel, unnamedMessage } from '../shared/remote-key.js';
import { perfNow, queueMicrotask, setTimeout } from '../shared/real-clock.js';

export interface CallerOptions {
  /** The pool, for messages. */
  pool: string;
  /** Where Redis is, for messages: `host:port`, `unix:<path>`, or the URL with its password masked. */
  where: string;
  /** How long calls in flight wait for Redis to answer again (ms); then they fail. */
  reconnectTimeout: number;
  /** How long a worker's hold on a job lasts unless it renews it (ms): a lost worker's runs out in that time. */
  lockDuration: number;
  /** A call with no live worker waits for one, rather than fail with NoWorkerError. */
  waitForWorker: boolean;
  secret: string | undefined;
  maxPayloadBytes: number;
  /** The payloads' codec tag (envelope.ts): the portable one, or v8 of this Node major. */
  codec: string;
  /** Publishes a request to stop a job on the worker that holds it. */
  cancel(jobId: string): Promise<void>;
  /** The link was released by this transport, the last to use it. */
  onReleased(): void;
}

/** One job in the queue: the batch it carries, its calls, and whether a worker took it. */
interface Sent {
  batch: number;
  calls: { id: number; label: string }[];
  active: boolean;
  /** When a worker took it (`perfNow()`). */
  activeAt: number;
  /** What its worker said of the calls it held unrun: made when it first says so. */
  held?: HeldWords;
}

/** A job's calls, for messages: the call's label, or how many calls it carries. */
function labelOf(sent: Sent): string {
  return sent.calls.length === 1 ? sent.calls[0]!.label : `${sent.calls.length} calls`;
}

/** A job that a worker took this long ago and has not answered held slow calls: the next go one per job. */
const slowJobMs = 100;

/**
 * A pool's calls as jobs in a BullMQ queue, answered by workers on other machines (worker.ts).
 *
 * A batch is a job. Up to `capacity` jobs are out at once, each call in a job of its own while
 * there is room; the calls that wait beyond it go together, as the scheduler batches them, in
 * jobs of several calls. A queue's cost is per job (a worker spends about the same on one, small or
 * large), so that is what lets a flood of small calls pass raw BullMQ's pace. A job is also what
 * the queue drops, hands to one worker, or loses: a worker runs a job's calls side by side, and a
 * worker lost with a job loses all its unanswered calls (`runsCallsTogether`). A call with a
 * timeout or a signal goes in a job of its own, so that stopping it stops nothing else.
 */
export class CallerTransport implements Transport {
  /** Jobs out at once; a worker takes as many as its pool has children. */
  readonly capacity = 64;
  readonly runsCallsTogether = true;
  /** A job's answer is its return value: nothing a call emits before it can cross (issue #13, point 7). */
  readonly streaming = false;
  /** The worker's pool times the call out and answers; the caller's timer waits this much longer. */
  readonly timeoutGrace = 2_000;
  readonly runsIn: string;
  readonly #caller = `${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
  readonly #sent = new Map<string, Sent>();
  readonly #jobOfBatch = new Map<number, string>();
  readonly #keys = new Map<string, { key: string | undefined; label: string }>();
  #closed = false;

  constructor(
    private readonly link: QueueLink,
    private readonly events: TransportEvents,
    private readonly options: CallerOptions,
  ) {
    this.runsIn = `a remote worker (queue ${link.queueName})`;
    link.use();
  }

  /** Calls in jobs no worker has taken yet: counted as they go, since the scheduler reads it on its paths. */
  waiting = 0;

  submit(task: BatchTask, _exclusive: boolean, _stoppable: boolean, timeouts: ReadonlyArray<number | undefined>): void {
    // Not within submit(): a call answered at once (it cannot be sent) must not re-enter the scheduler.
    queueMicrotask(() => void this.#send(task[BatchSlot.id], task[BatchSlot.calls], timeouts));
  }

  async #send(batch: number, calls: CallTask[], timeouts: ReadonlyArray<number | undefined>): Promise<void> {
    const jobId = `${this.#caller}-${batch}`;
    const parts: CallPart[] = [];
    const sent: Sent = { batch, calls: [], active: false, activeAt: 0 };
    // A call that cannot be sent (no key, too large) is answered here; the others go.
    calls.forEach((call, index) => {
      const { key, label } = this.#keyOf(call[CallSlot.target]);
      try {
        if (key === undefined) {
          const { module } = JSON.parse(call[CallSlot.target]) as Target;
          throw usageError(unnamedMessage(label, module, this.options.pool));
        }
        parts.push(sealCall(call, key, label, timeouts[index], this.options.maxPayloadBytes, this.options.codec));
        sent.calls.push({ id: call[CallSlot.id], label });
      } catch (error) {
        // Refused by this transport, not thrown by the call's code: stats() counts it as failed.
        this.events.answered(batch, call[CallSlot.id], ['thrown', encodeThrown(error), 'call'], undefined, 'failed');
      }
    });
    if (parts.length === 0) {
      this.events.ended(batch, false);
      return;
    }
    const envelope = sealJob(parts, jobId, this.options.secret, this.options.codec, this.link.callerId);
    const label = labelOf(sent);
    this.#sent.set(jobId, sent);
    this.waiting += sent.calls.length;
    this.#jobOfBatch.set(batch, jobId);
    this.link.watch(jobId, this.#watcher(jobId));
    try {
      await this.#reachable(label, async () => {
        await this.link.ready();
        if (!this.options.waitForWorker && !(await this.link.workers.any())) {
          const none = await this.#noWorker(label);
          if (none) throw none;
        }
        // Stopped (aborted, timed out, shut down) while this waited: it was answered, and must not run.
        if (this.#sent.get(jobId) !== sent) return;
        await this.link.queue.add('call', envelope, {
          jobId,
          attempts: 1,
          removeOnComplete: { age: finishedJobKeptSeconds },
          removeOnFail: { age: finishedJobKeptSeconds },
        });
        this.link.added(jobId);
      });
    } catch (error) {
      this.#answerAll(jobId, sent, error);
    }
  }

  /** Runs what talks to Redis; a failure to reach it is TransportUnavailableError, and the job is not watched. */
  async #reachable(label: string, talk: () => Promise<void>): Promise<void> {
    try {
      await talk();
    } catch (error) {
      if (error instanceof NoWorkerError) throw error;
      throw this.#unavailable(`${label} could not be sent`, error, 'Nothing was sent. ');
    }
  }

  /** Redis could not be reached, or answered with an error (out of memory, an ACL), each said as it is. */
  #unavailable(what: string, error: unknown, consequence = ''): TransportUnavailableError {
    maskCredentials(error);
    const where = `Redis at ${this.options.where} (queue ${this.link.queueName})`;
    const message = (error as Error | undefined)?.message ?? String(error);
    // ioredis's ReplyError: Redis answered, and refused the command.
    const answered = (error as Error | undefined)?.name === 'ReplyError';
    // Told as it is (connection.ts, checkDatabase), not as Redis out of reach.
    if (noSuchDatabase(message)) {
      return new TransportUnavailableError(`${what} (${where}): ${message} ${consequence}`.trim(), { cause: error });
    }
    if (refusedCredentials(message)) {
      return new TransportUnavailableError(
        `${what}: ${where} refused the connection's credentials (${message}). ${consequence}Give the user and ` +
          `password of an ACL user in the transport's connection (redis://user:password@host:port, or ` +
          `{ username, password }).`,
        { cause: error },
      );
    }
    if (refusedByAcl(message)) {
      return new TransportUnavailableError(
        `${what}: ${where} refused a command to the transport's user (${message}). ${consequence}Give that ACL ` +
          `user the commands the queue runs, INFO among them (BullMQ checks Redis's version with it): ` +
          `+@all -@dangerous +info is enough, on the queue's keys (~bull:*, or the transport's prefix).`,
        { cause: error },
      );
    }
    return new TransportUnavailableError(
      answered
        ? `${what}: ${where} refused it (${message}). ${consequence}Check Redis's state: its memory limit ` +
            `(maxmemory), and what the ACL of the transport's user allows.`
        : `${what}: ${where} cannot be reached (${message}). ${consequence}Check that Redis runs there, and that ` +
            `the transport's connection (bullmq({ connection })) points to it.`,
      { cause: error },
    );
  }

  /**
   * No live worker: when the call is made (`queued` false), or while its job waited in the queue
   * (the last worker left, and the job was removed from the queue): either way, the call did not run.
   * Undefined when, asked again, a worker of this build is alive after all (at the call only: a job
   * removed is removed).
   */
  async #noWorker(label: string, queued = false): Promise<NoWorkerError | undefined> {
    const { pool } = this.options;
    const queue = this.link.queueName;
    const build = queue.slice(queue.lastIndexOf('@') + 1);
    const serving: string[] = await this.link.workers.buildsServing(pool).catch(() => []);
    // A worker of this build said it is alive since it was counted (after Redis stalled longer than
    // its word lasts, its next word comes after the count): the call is sent after all.
    if (!queued && serving.includes(build)) return undefined;
    const others = serving.filter((other) => other !== build);
    // A job that waited was taken by this build's workers once: they left, the build ids are not wrong.
    const elsewhere =
      others.length === 0
        ? ''
        : queued
          ? ` Workers of pool ${pool} run other builds (${others.join(', ')}), which do not take this build's calls.`
          : ` Workers of pool ${pool} run other builds (${others.join(', ')}): caller and workers must share a build ` +
            `id (the transport's buildId, RUN_IN_PROCESS_BUILD_ID, or the app's package version).`;
    const what = queued
      ? `${label} was not run: its job waited in the queue, and no live worker of pool ${pool} for build ${build} ` +
        `is left to take it (queue ${queue}); the job was removed.`
      : `${label} was not sent: no live worker takes the calls of pool ${pool} for build ${build} (queue ${queue}).`;
    return new NoWorkerError(
      `${what}${elsewhere} Start one (npx run-in-process worker --connection … --pool ${pool} --build-id ${build} ` +
        `<modules>), or let calls wait for one: bullmq({ waitForWorker: true }).`,
      queue,
    );
  }

  #watcher(jobId: string) {
    return {
      active: () => {
        const sent = this.#sent.get(jobId);
        if (!sent) return;
        if (sent.active) {
          // Taken again, handed back by a worker that shut down holding it: its held calls start.
          for (const index of sent.held?.takenAgain() ?? []) this.events.started(sent.batch, sent.calls[index]!.id);
          return;
        }
        sent.active = true;
        sent.activeAt = perfNow();
        this.waiting -= sent.calls.length;
        for (const call of sent.calls) this.events.started(sent.batch, call.id);
      },
      // Its worker holds a call unrun (in its own queue, or handing it back): its timeout waits for
      // its start; or it started it now. The worker's word: signed, with a secret (a forged 'held'
      // would stop the timeout).
      progress: (data: unknown) => {
        const sent = this.#sent.get(jobId);
        const said = openProgress(data, jobId, this.options.secret);
        const call = said && sent?.active ? sent.calls[said.index] : undefined;
        if (!sent || !said || !call) return;
        const held = (sent.held ??= new HeldWords());
        if (said.state === 'held') {
          if (held.held(said.index, said.attempt)) this.events.requeued?.(sent.batch, call.id);
        } else if (held.started(said.index, said.attempt)) this.events.started(sent.batch, call.id);
      },
      completed: (returnValue: unknown, stored: boolean): boolean => {
        const sent = this.#sent.get(jobId);
        if (!sent) return true;
        let opened: OpenedAnswers;
        try {
          opened = openAnswers(returnValue, jobId, this.options.secret, sent.calls.length);
        } catch (error) {
          // Heard from the events stream, which anyone who can write to Redis can add to: a forged
          // answer must not stand for the worker's. The job's stored answer decides (queue-link.ts).
          if (!stored) return false;
          this.#answerAll(
            jobId,
            sent,
            new RunInProcessError(
              `The worker's answer to job ${jobId} was refused: ${(error as Error).message}. If the caller's and ` +
                `the worker's secrets differ, the worker refused the call as well, without running it.`,
            ),
          );
          return true;
        }
        const slow = sent.calls.length > 1 && sent.active && perfNow() - sent.activeAt > slowJobMs;
        this.#release(jobId, sent.batch);
        sent.calls.forEach((call, index) => {
          this.events.answered(sent.batch, call.id, opened.answers[index]!, undefined, opened.failures[index]);
        });
        this.events.ended(sent.batch, slow);
        return true;
      },
      failed: (reason: string) => {
        const sent = this.#sent.get(jobId);
        if (!sent) return;
        // BullMQ's words when it gives up on a job it found stalled (moveStalledJobsToWait), not any
        // reason that mentions it: a worker that failed the job for Redis's error could quote anything.
        if (reason === 'job stalled more than allowable limit') {
          void this.link.workerOf(jobId).then((worker) => this.#workerLost(jobId, sent, worker));
          return;
        }
        // Its calls ran, but the answer could not be kept: said as Redis's failure, and that they ran.
        const error = reason.startsWith(answerNotStored)
          ? new TransportUnavailableError(
              `The calls of job ${jobId} (${labelOf(sent)}) ran on a remote worker, but Redis at ${this.options.where} ` +
                `refused to store their answer${reason.slice(answerNotStored.length)}. Check Redis's memory (maxmemory) ` +
                `and its logs; the calls are not run again.`,
              { mayHaveRun: true },
            )
          : // Quoted: whoever can write to Redis can write a job's failure, a terminal's sequences too.
            new RunInProcessError(`The queue failed job ${jobId}: ${shown(reason, 1_000)}`);
        this.#answerAll(jobId, sent, error);
        this.link.discard(jobId);
      },
      lost: (error: JobLostError) => {
        const sent = this.#sent.get(jobId);
        if (sent) this.#lose(jobId, sent, () => error);
      },
      orphaned: (state: 'waiting' | 'active', worker: string | undefined) => {
        const sent = this.#sent.get(jobId);
        if (!sent) return;
        if (state === 'active') {
          // Removed once the count of the calls its worker started is read (and frozen).
          void this.#workerLost(jobId, sent, worker).finally(() => this.#removeOrphan(jobId));
        } else if (!this.options.waitForWorker) {
          // Told "not run" only once it is out of the queue: BullMQ does not remove a job a worker
          // holds (0), and a worker that took it meanwhile runs it, and answers. Redis away: the
          // sweep asks again, or the call fails as unreachable.
          void this.link.queue.remove(jobId).then(
            async (removed) => {
              if (removed !== 1) return;
              const error = await this.#noWorker(sent.calls[0]!.label, true);
              if (error && this.#sent.get(jobId) === sent) this.#answerAll(jobId, sent, error);
            },
            () => {},
          );
        }
      },
      unreachable: (forMs: number, reason: string | undefined, refusing?: string) => {
        const sent = this.#sent.get(jobId);
        if (sent && forMs >= this.options.reconnectTimeout) this.#redisGone(jobId, sent, forMs, reason, refusing);
      },
    };
  }

  /**
   * Redis has not answered for reconnectTimeout: the job's answer, which comes through it, may never
   * come. Its calls fail, so that each settles. They are not run again (with Redis away, they could
   * not be sent), and the job cannot be taken back: a worker may have run them, or may still run
   * them once Redis is back.
   */
  #redisGone(jobId: string, sent: Sent, forMs: number, reason: string | undefined, refusing?: string): void {
    const { where, reconnectTimeout } = this.options;
    // What this caller had heard: a worker's taking the job reaches it through Redis too.
    const state = sent.active ? 'a worker had taken it' : 'no worker was yet known to have taken it';
    const what = refusing
      ? `has refused every write for ${forMs} ms (${refusing})`
      : `has not answered for ${forMs} ms${reason ? ` (${reason})` : ''}`;
    const check = refusing
      ? 'Check its memory (maxmemory) and its role (a replica is read-only)'
      : 'Check that Redis runs';
    const error = new TransportUnavailableError(
      `Redis at ${where} (queue ${this.link.queueName}) ${what}, while job ${jobId} (${labelOf(sent)}) was out: ` +
        `${state}. Its answer is no longer awaited: the call may have run, or may still run once Redis is back. ` +
        `${check}; bullmq({ reconnectTimeout }) (now ${reconnectTimeout} ms) sets how long calls wait for it.`,
      { mayHaveRun: true },
    );
    this.#answerAll(jobId, sent, error);
  }

  /**
   * A job whose worker was lost when none of its build was left stays active in Redis, its data with
   * it, until a worker of that build finds it stalled: after a deploy, none ever may. It is removed
   * once the lost worker's hold on it has run out (BullMQ removes no job that a worker holds): now,
   * or a lock's duration later, twice at most. Not holding the process for it: a caller that exits
   * first leaves the job to the next worker of the build, as before.
   */
  #removeOrphan(jobId: string, tries = 3): void {
    void this.link.queue.remove(jobId).then(
      (removed) => {
        if (removed !== 1 && tries > 1)
          setTimeout(() => this.#removeOrphan(jobId, tries - 1), this.options.lockDuration).unref();
      },
      () => {}, // Redis is away: the job waits for a worker of its build, which fails it as stalled.
    );
  }

  /**
   * Its worker stopped renewing its hold on the job: the calls it had handed to its children may have
   * run, and fail as lost (or run again, with retries); those of a job of several that it had not
   * handed over yet never ran, and go again (release-gate.ts).
   */
  async #workerLost(jobId: string, sent: Sent, worker: string | undefined): Promise<void> {
    if (this.#sent.get(jobId) !== sent) return;
    const released = sent.calls.length > 1 ? await this.#releasedBy(jobId) : undefined;
    if (this.#sent.get(jobId) !== sent) return;
    const where = worker ? `The remote worker ${worker}` : 'The remote worker';
    const error = (label: string) =>
      new WorkerLostError(
        `${where} running ${label} (job ${jobId}) was lost: it stopped renewing its hold on the job. ` +
          `The call may have run, in part or in full; it is run again only with retries (for idempotent work).`,
        label,
        jobId,
        worker,
      );
    this.#lose(jobId, sent, error, released);
  }

  /** How many of its calls the job's lost worker had handed to its children, if it said so. */
  async #releasedBy(jobId: string): Promise<number | undefined> {
    const said = await this.link.releasedOf(jobId);
    return said && openReleased(said.sealed, jobId, said.attempts, this.options.secret);
  }

  /**
   * Every call of the job fails with `error`, as its answer: the batch ends with them. The error is
   * this transport's (no worker, Redis away, the queue failed the job), never the call's code's:
   * stats() counts it as that failure, not as completed.
   */
  #answerAll(jobId: string, sent: Sent, error: unknown): void {
    this.#release(jobId, sent.batch);
    const answer: Answer = ['thrown', encodeThrown(error), 'call'];
    const failedAs = failureOf(error);
    for (const call of sent.calls) this.events.answered(sent.batch, call.id, answer, undefined, failedAs);
    this.events.ended(sent.batch, false);
  }

  /**
   * Lost under its worker: every unanswered call may have run (a worker runs a job's calls side by
   * side), or, when the worker counted what it handed to its pool (`handedOver`), those calls only.
   * The scheduler runs each again if it has retries left, else fails it with `error`; the others go
   * again as they are.
   */
  #lose(jobId: string, sent: Sent, error: (label: string) => Error, handedOver?: number): void {
    this.#release(jobId, sent.batch);
    if (handedOver === undefined) {
      this.events.lost(sent.batch, { kind: 'crashed', error, allStarted: true });
      return;
    }
    const mayHaveRun = new Set(sent.calls.slice(0, handedOver).map((call) => call.id));
    this.events.lost(sent.batch, { kind: 'crashed', error, ran: (call) => mayHaveRun.has(call) });
  }

  /** The job is no longer in the queue's hands, as far as this caller is concerned. */
  #release(jobId: string, batch: number): Sent | undefined {
    const sent = this.#sent.get(jobId);
    if (sent && !sent.active) this.waiting -= sent.calls.length;
    this.#sent.delete(jobId);
    this.#jobOfBatch.delete(batch);
    this.link.forget(jobId);
    return sent;
  }

  append(): boolean {
    return false;
  }

  steer(): boolean {
    return false;
  }

  close(): void {
    // A job ends with its answers.
  }

  cancel(batch: number, reason: StopReason): void {
    const jobId = this.#jobOfBatch.get(batch);
    if (jobId === undefined) return;
    const sent = this.#release(jobId, batch);
    // A waiting job is dropped; one a worker holds is stopped there (its child killed), and marked
    // stopped, should that worker hand it back unrun as it shuts down.
    void this.link.queue
      .remove(jobId)
      .then((removed) => removed > 0 && this.link.markStopped(jobId, false))
      .catch(() => 0);
    this.link.markStopped(jobId);
    this.link.discardWhenFinished(jobId);
    void this.options.cancel(jobId).catch(() => {});
    // The call stopped was failed already; the others of its job (at shutdown) may have run.
    const error = (label: string) =>
      reason === 'shutdown'
        ? lossError({ kind: 'closed' }, label)
        : new RunInProcessError(`${label} was stopped (${reason}) with the job it was sent in.`);
    if (sent) this.events.lost(batch, { kind: 'crashed', error, allStarted: true });
  }

  async destroy(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [jobId, sent] of this.#sent) {
      this.link.forget(jobId);
      this.events.lost(sent.batch, { kind: 'closed' });
    }
    this.#sent.clear();
    this.waiting = 0;
    if (await this.link.release()) this.options.onReleased();
  }

  children(): ChildCounts {
    return { busy: 0, idle: 0, starting: 0, recycled: 0 };
  }

  async warmUp(): Promise<void> {
    try {
      await this.link.ready();
    } catch (error) {
      throw this.#unavailable(`warmUp('${this.options.pool}')`, error);
    }
  }

  #keyOf(targetJson: string): { key: string | undefined; label: string } {
    let known = this.#keys.get(targetJson);
    if (!known) {
      const target = JSON.parse(targetJson) as Target;
      known = { key: remoteKey(target), label: targetLabel(target) };
      this.#keys.set(targetJson, known);
    }
    return known;
  }
}
