import { randomUUID } from 'node:crypto';
import type { Queue, QueueEvents } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { JobLostError } from '../errors.js';
import { messageOf } from '../codec/describe-thrown.js';
import { checkDatabase, connectionProblem, givenUpRetrying, maskCredentials, noSuchDatabase } from './connection.js';
import { holderOf, stopMarkOf } from './job-holder.js';
import { freezeReleased } from './release-marks.js';
import { answerKeyOf, finishedJobKeptSeconds, isAnswerApart } from './envelope.js';
import { loadBullMQ } from './peers.js';
import { LiveWorkers } from './worker-presence.js';
import {
  clearInterval,
  clearTimeout,
  perfNow,
  queueMicrotask,
  setImmediate,
  setInterval,
  setTimeout,
  wallNow,
} from '../shared/real-clock.js';

/** What becomes of one job, as the caller hears it. */
export interface JobWatcher {
  active(): void;
  /** The job's progress, as its worker set it (job-runner.ts: a call of it that started late). */
  progress?(data: unknown): void;
  /**
   * `stored`: read from the job itself, not heard from the events stream (which whoever can write
   * to Redis can add to). False: an answer heard that does not hold (a bad signature, a malformed
   * envelope) is not taken; the link reads the job's stored answer at once, and hands that over.
   */
  completed(returnValue: unknown, stored: boolean): boolean;
  failed(reason: string): void;
  /** The job is gone from the queue, with no result (its store restarted without persistence). */
  lost(error: JobLostError): void;
  /**
   * No worker of the queue is alive while the job waits or runs: `worker` is the name of the one
   * that took it, when one did.
   */
  orphaned(state: 'waiting' | 'active', worker: string | undefined): void;
  /**
   * Redis has not answered for `forMs` ms (told every `checkEvery` ms while it does not), for
   * `reason` as the link's clients last heard it, if they did; or it answers, but has refused every
   * write for that long, saying `refusing` (out of memory, say).
   */
  unreachable(forMs: number, reason: string | undefined, refusing?: string): void;
}

/**
 * Deletes a finished job (in the completed or the failed set), its hash, its logs and its answer
 * stored apart (envelope.ts answerApart), and the events-stream entry that carried its answer, if
 * named; nothing else.
 */
const discardScript = `
if redis.call('ZREM', KEYS[2], ARGV[1]) + redis.call('ZREM', KEYS[3], ARGV[1]) > 0 then
  redis.call('DEL', KEYS[1], KEYS[1] .. ':logs', KEYS[1] .. ':run-in-process:answer', KEYS[1] .. ':run-in-process:stopped')
  if ARGV[2] ~= '' then redis.call('XDEL', KEYS[4], ARGV[2]) end
  return 1
end
return 0`;

/** A link stops listening this long after its last job settled, so that an idle process can exit. */
const listenAfterIdleMs = 1_000;

/** While jobs are watched, whether Redis still answers is checked this often (a PING). */
const checkEvery = 250;

/**
 * A caller's side of one queue, shared by every pool of this process that uses it: one Queue to
 * add jobs, and one event subscription (QueueEvents) that hears every job's fate and passes it to
 * that job's watcher, by id. Not `job.waitUntilFinished`, which adds a listener per wait and misses
 * the result of a job already removed. The events stream is trimmed, so an event can be missed: a
 * sweep asks the queue about each job that has waited a while.
 *
 * It listens only while jobs are watched (and a second more): BullMQ 6.7 keeps a timer running for
 * each blocking read of the events stream, which would keep an idle process alive. Listening again
 * starts from the stream's last event as it was before the next job was added, so no event of that
 * job is missed. While no job is watched, its connections do not keep the process alive either.
 */
export class QueueLink {
  readonly queue: Queue;
  readonly #adding: Redis;
  readonly #clients = new Set<Redis>();
  /** Some job is watched: the sockets hold the process open. */
  #busy = false;
  /** `since`: when its job was added to the queue (added()); until then, the sweep leaves it alone. */
  readonly #watchers = new Map<string, { watcher: JobWatcher; since: number | undefined }>();
  /** Jobs their callers stopped, by when: discarded when their worker finishes them (discardWhenFinished). */
  readonly #stopped = new Map<string, number>();
  #events: QueueEvents | undefined;
  #listening: Promise<void> | undefined;
  /** `#listening` has resolved: the subscription is up. */
  #listened = false;
  #idle: NodeJS.Timeout | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #users = 0;
  #closed = false;
  /** Its clients were disconnected while idle with Redis away; the next call connects them again. */
  #parked = false;
  /** When the subscription was last started again after an error. */
  #relistenedAt = 0;
  /** A new subscription is due, a second after the last one was started (#relisten). */
  #relistenTimer: NodeJS.Timeout | undefined;
  /** Why its clients last failed to reach Redis (`connect ECONNREFUSED …`); none once one is ready. */
  #unreachable: string | undefined;
  /** While jobs are watched: checks that Redis answers. */
  #checker: NodeJS.Timeout | undefined;
  /** When the PING not yet answered was sent (`perfNow()`, as below: a clock set back or forth does not count). */
  #pingedAt: number | undefined;
  /** Since when Redis has not answered: its connection closed, or a PING failed or went unanswered. */
  #awaySince: number | undefined;
  /** Why Redis refused the last check's write, though it answers (out of memory, a read-only replica). */
  #refusing: string | undefined;
  /** Redis has the database the connection selects (connection.ts, checkDatabase). */
  #databaseChecked = false;
  /** Which of the queue's workers are alive (worker-presence.ts). */
  readonly workers: LiveWorkers;
  /**
   * This caller's name in its jobs (`from`), under which it says it is alive while it has jobs out:
   * a worker that takes a job long after it was added runs it only if its caller still is.
   */
  readonly callerId = randomUUID();
  /** When it last said so (`perfNow()`). */
  #callerSaidAt: number | undefined;

  constructor(
    readonly queueName: string,
    connect: (options: RedisOptions) => Redis,
    readonly prefix: string | undefined,
    /** Where the queue's workers say they are alive (worker-presence.ts). */
    presenceKey: string,
    readonly sweepEvery = 5_000,
    /** How long a worker's word that it is alive lasts (lockDuration + stalledInterval), as the workers are told. */
    workersWordMs = 10_000,
    /** Where this caller says it is alive while it has jobs out, and for how long each word lasts. */
    private readonly callerWord: { key: (caller: string) => string; lastsMs: number } = {
      key: (caller) => `bull:${queueName}:run-in-process:caller:${caller}`,
      lastsMs: 60_000,
    },
  ) {
    const { bullmq } = loadBullMQ();
    // A command fails after one retry when Redis is away: the call then fails, promptly.
    this.#adding = this.#track(connect({ maxRetriesPerRequest: 1, connectTimeout: 1_000 }));
    // Lost while jobs are watched: Redis is away from that moment, not from the next PING's failure.
    this.#adding.on('close', () => {
      if (this.#checker) this.#awaySince ??= perfNow();
    });
    // QueueEvents reads with a blocking command on a copy of the connection that BullMQ makes (and
    // closes) itself, through ioredis's duplicate(): the copy is watched too. A blocking read must
    // wait through a reconnection, not fail after one retry.
    const duplicate = this.#adding.duplicate.bind(this.#adding);
    this.#adding.duplicate = ((override?: Partial<RedisOptions>) =>
      this.#track(duplicate({ ...override, maxRetriesPerRequest: null }))) as Redis['duplicate'];
    this.queue = new bullmq.Queue(queueName, {
      connection: this.#adding,
      ...(prefix && { prefix }),
      skipWaitingForReady: true,
    });
    this.queue.on('error', () => {});
    this.workers = new LiveWorkers(this.#adding, presenceKey, prefix ?? 'bull', workersWordMs);
  }

  /**
   * Resolves once Redis answers and the link listens for events; rejects after `within` ms if
   * Redis cannot be reached. Call it before adding a job.
   */
  async ready(within = 1_000): Promise<void> {
    // The common case, on every call: listening already, and nothing to wait for or time.
    if (this.#listened && this.#adding.status === 'ready') return;
    if (this.#parked) {
      this.#parked = false;
      // ioredis 5.11.1 internal: a disconnect() of a client that was reconnecting leaves it marked as
      // closed on purpose, which connect() does not clear: it would end at the next loss of Redis,
      // never to reconnect, and every later call would fail ('Connection is closed.').
      (this.#adding as unknown as { manuallyClosing: boolean }).manuallyClosing = false;
      this.#adding.connect().catch(() => {}); // Failing, it is reported by the wait below.
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Redis within ${within} ms`)), within);
    });
    try {
      await Promise.race([this.#listen(), late]);
    } catch (error) {
      // What the clients heard says why, where a timeout or ioredis's "max retries per request" does not.
      throw new Error(this.#unreachable ?? (error as Error).message, { cause: error });
    } finally {
      clearTimeout(timer);
      // Ready with nothing to watch (a warm-up): the listening stops again when idle.
      if (this.#watchers.size === 0) this.#refresh();
    }
  }

  /** Watched before its job is added, so that no event of it is missed. */
  watch(jobId: string, watcher: JobWatcher): void {
    this.#watchers.set(jobId, { watcher, since: undefined });
    this.#refresh();
  }

  /**
   * Its job is in the queue now: the sweep may look for it. Before, not finding it there means
   * nothing (the add, a megabyte long or waiting for Redis, is under way), and would fail its calls
   * with JobLostError while the job goes on to run.
   */
  added(jobId: string): void {
    const entry = this.#watchers.get(jobId);
    if (entry) entry.since = wallNow();
  }

  forget(jobId: string): void {
    this.#watchers.delete(jobId);
    this.#refresh();
  }

  /**
   * A finished job whose answer the caller has: its data and answer are deleted from Redis at once,
   * rather than kept until `removeOnComplete`'s age (the backstop for a caller that died first), and
   * so is the 'completed' entry of the events stream that carried the answer again (`eventId`), which
   * would otherwise stay until the stream is trimmed, 10,000 entries later. Fire and forget, after
   * the answer: a job a worker holds, or one that waits, is left alone. Not BullMQ's `remove()`,
   * which would also write a 'removed' event that every caller of the queue reads.
   */
  discard(jobId: string, eventId?: string): void {
    void this.#discarded(jobId, eventId);
  }

  /** Whether the job was finished, and so deleted (a job that is not is left as it is). */
  async #discarded(jobId: string, eventId: string | undefined): Promise<boolean> {
    const jobKey = this.queue.toKey(jobId);
    const { completed, failed, events } = this.queue.keys;
    return this.#adding
      .eval(discardScript, 4, jobKey, completed!, failed!, events!, jobId, eventId ?? '')
      .then((deleted) => deleted === 1)
      .catch(() => false);
  }

  /**
   * A stopped job's end was heard: it is deleted, and forgotten once it is (an event anyone could
   * have added does not finish a job: the real one, later, finds it still noted).
   */
  #discardStopped(jobId: string, eventId: string): void {
    if (!this.#stopped.has(jobId)) return;
    void this.#discarded(jobId, eventId).then((deleted) => deleted && this.#stopped.delete(jobId));
  }

  /**
   * A job its caller stopped, which its worker still finishes (with the stop's answer, its child
   * killed): it is discarded when this link hears it finished, as an answered job is, not left for
   * `removeOnComplete`'s age, which only later jobs of the queue act on. Not watched: it holds no
   * process, and is left to that backstop when this link stops listening first (an idle process).
   */
  discardWhenFinished(jobId: string): void {
    const now = perfNow();
    for (const [stopped, at] of this.#stopped) {
      if (now - at < finishedJobKeptSeconds * 1_000 && this.#stopped.size < 10_000) break;
      this.#stopped.delete(stopped);
    }
    this.#stopped.set(jobId, now);
  }

  /**
   * Marks a job its caller stopped (job-holder.ts stopMarkOf), or, `stopped` false, drops the mark of
   * one that was removed from the queue after all (no worker will take it). Fire and forget: on the
   * connection that adds jobs, after what was sent on it before.
   */
  markStopped(jobId: string, stopped = true): void {
    const mark = stopMarkOf(this.queue.toKey(jobId));
    (stopped ? this.#adding.set(mark, '1', 'EX', finishedJobKeptSeconds) : this.#adding.del(mark)).catch(() => {});
  }

  /** The name of the worker that holds a job, or held it when it was lost (job-holder.ts). */
  async workerOf(jobId: string): Promise<string | undefined> {
    return holderOf(this.#adding, this.queue.toKey(jobId)).catch(() => undefined);
  }

  /**
   * How many of a job's calls its lost worker had handed to its children, sealed, and the job's
   * takes: frozen from now on (release-marks.ts). Undefined when the job or Redis is gone.
   */
  async releasedOf(jobId: string): Promise<{ sealed: string; attempts: number } | undefined> {
    return freezeReleased(this.#adding, this.queue.toKey(jobId)).catch(() => undefined);
  }

  /** Asks the worker that holds a job to stop it. */
  async publish(channel: string, message: string): Promise<void> {
    await this.#adding.publish(channel, message);
  }

  use(): void {
    this.#users++;
  }

  /** Its last user released it: it is closing, or closed, and is never used again. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The last pool using it closes it; true then. */
  async release(): Promise<boolean> {
    if (--this.#users > 0) return false;
    // At once, before anything is awaited: a pool started meanwhile must make a link of its own.
    this.#closed = true;
    clearInterval(this.#sweeper);
    clearInterval(this.#checker);
    clearTimeout(this.#idle);
    clearTimeout(this.#relistenTimer);
    await withinASecond(Promise.allSettled([this.#stopListening(), this.queue.close()]));
    for (const client of this.#clients) client.disconnect();
    return true;
  }

  #track(redis: Redis): Redis {
    this.#clients.add(redis);
    // Each new socket (one per reconnection) starts as idle as the link is.
    redis.on('connect', () => refSocket(redis, this.#busy));
    // A closed client (an old event subscription's copy) is dropped, not toggled for ever.
    redis.on('end', () => redis !== this.#adding && this.#clients.delete(redis));
    // Reported to the call that meets it, not to the process.
    redis.on('error', (error: Error) => {
      maskCredentials(error); // The same error may reach the call that meets it, and a log.
      if (givenUpRetrying(error) && this.#unreachable !== undefined) return;
      // Told by checkDatabase, in full: Redis answers, and is not out of reach.
      if (noSuchDatabase(error.message)) return;
      this.#unreachable = connectionProblem(error);
    });
    redis.on('ready', () => (this.#unreachable = undefined));
    // Redis lost once the link went idle: its clients are parked at once, as when it was lost before
    // (#parkIfAway); ioredis's timer for the next attempt would keep the process alive, for ever.
    // After the event: ioredis emits it before it sets its timer for the next attempt, which a
    // disconnect() within the event would not clear (the client would reconnect, flagged as closed
    // on purpose, and end at the next loss of Redis with nothing to connect it again).
    redis.on('reconnecting', () =>
      queueMicrotask(() => {
        if (this.#watchers.size === 0 && this.#idle === undefined) this.#parkIfAway();
      }),
    );
    return redis;
  }

  #listen(): Promise<void> {
    this.#listening ??= this.#startListening().catch((error: unknown) => {
      this.#listening = undefined;
      throw error;
    });
    return this.#listening;
  }

  async #startListening(): Promise<void> {
    // Once: ioredis would go on with database 0 where Redis has not the one asked for.
    if (!this.#databaseChecked) await checkDatabase(this.#adding);
    this.#databaseChecked = true;
    // The stream's last event before any job this listening is for was added: read from there.
    const [last] = (await this.#adding.xrevrange(this.queue.keys.events!, '+', '-', 'COUNT', 1)) as [string, unknown][];
    const { bullmq } = loadBullMQ();
    const events = new bullmq.QueueEvents(this.queueName, {
      connection: this.#adding,
      ...(this.prefix && { prefix: this.prefix }),
      lastEventId: last?.[0] ?? '0-0',
    });
    // BullMQ's reading loop ends on an error (an entry it cannot parse, which anyone who can write to
    // Redis can add): listen again from the stream's end; the sweep finds what was missed.
    events.on('error', () => this.#listenAgain(events));
    const guarded =
      <T>(handle: (event: T, eventId: string) => void) =>
      (event: T, eventId: string): void => {
        try {
          handle(event, eventId);
        } catch {
          // A watcher that throws must not end the loop that serves every other job.
        }
      };
    events.on(
      'active',
      guarded(({ jobId }: { jobId: string }) => this.#watchers.get(jobId)?.watcher.active()),
    );
    events.on(
      'progress',
      guarded(({ jobId, data }: { jobId: string; data: unknown }) =>
        this.#watchers.get(jobId)?.watcher.progress?.(data),
      ),
    );
    events.on(
      'completed',
      guarded(({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }, eventId) => {
        const entry = this.#watchers.get(jobId);
        if (!entry) {
          this.#discardStopped(jobId, eventId);
          return;
        }
        if (isAnswerApart(returnvalue)) void this.#settleApart(jobId, eventId);
        else if (entry.watcher.completed(returnvalue, false)) {
          this.forget(jobId);
          this.discard(jobId, eventId);
        } else void this.#settleFromStore(jobId);
      }),
    );
    // Not taken from the event, which whoever can write to Redis can add to the stream (a forged one
    // would fail a call its worker still runs, with a reason of the forger's): the job's stored state
    // and reason decide, as for a completed job's answer that does not hold. A rare path: a job fails
    // only when the queue gives up on it (its worker stalled), not when the call's code throws.
    events.on(
      'failed',
      guarded(({ jobId }: { jobId: string }, eventId) => {
        if (this.#watchers.has(jobId)) void this.#settleFromStore(jobId);
        else this.#discardStopped(jobId, eventId);
      }),
    );
    this.#events = events;
    await events.waitUntilReady();
    this.#listened = this.#events === events;
  }

  /**
   * Idle, with Redis away: ioredis would retry for ever, and its timers would keep this process
   * alive. The clients are disconnected instead, and connect again on the next call (ready()).
   */
  #parkIfAway(): void {
    if (this.#adding.status === 'ready' || this.#adding.status === 'end' || this.#closed) return;
    this.#parked = true;
    for (const client of this.#clients) {
      // ioredis 5 ends its socket and gives it `disconnectTimeout` (2 s) to close, on a timer that
      // holds the process and that only the socket's 'close' clears: one that failed to connect had
      // closed already, and the process lived 2 s more. Redis is away: nothing is waited for.
      const connector = (client as unknown as { connector?: { disconnectTimeout?: number } }).connector;
      if (connector && typeof connector.disconnectTimeout === 'number') connector.disconnectTimeout = 0;
      client.disconnect();
    }
  }

  /** After an error of the subscription, whose reading loop has ended: a new one (#relisten). */
  #listenAgain(failed: QueueEvents): void {
    if (this.#events !== failed) return;
    void this.#stopListening();
    this.#relisten();
  }

  /**
   * Subscribes again while jobs are watched and nothing listens: at once, or a second after the last
   * time (an entry that ends BullMQ's loop may come again and again). One that fails (Redis still
   * away) is tried again at the health check's next answer (#checkRedis). A new subscription reads
   * from the stream's end, past an entry that ended the last one: the answers of the gap are read
   * from the jobs themselves (#sweep), at once. Before, an error within a second of the last one,
   * or a subscription that failed, left the calls to the sweep's pace (5 s): false timeouts.
   */
  #relisten(): void {
    if (this.#listening || this.#relistenTimer || this.#watchers.size === 0 || this.#closed) return;
    const wait = this.#relistenedAt + 1_000 - wallNow();
    if (wait > 0) {
      this.#relistenTimer = setTimeout(() => {
        this.#relistenTimer = undefined;
        this.#relisten();
      }, wait);
      this.#relistenTimer.unref();
      return;
    }
    this.#relistenedAt = wallNow();
    this.#listen().then(
      () => this.#sweep(true),
      () => {},
    );
  }

  /** Stops the event subscription (see withinASecond). */
  async #stopListening(): Promise<void> {
    const events = this.#events;
    this.#events = undefined;
    this.#listening = undefined;
    this.#listened = false;
    if (!events) return;
    events
      .removeAllListeners('active')
      .removeAllListeners('progress')
      .removeAllListeners('completed')
      .removeAllListeners('failed');
    await withinASecond(events.close());
  }

  #finish(jobId: string): JobWatcher | undefined {
    const entry = this.#watchers.get(jobId);
    if (entry) this.forget(jobId);
    return entry?.watcher;
  }

  /**
   * Sockets hold the process open only while jobs are watched; so do the sweep and the listening.
   * Only a change between busy and idle touches the sockets: not every call.
   */
  #refresh(): void {
    const busy = this.#watchers.size > 0;
    if (busy !== this.#busy) {
      this.#busy = busy;
      for (const client of this.#clients) refSocket(client, busy);
    }
    if (busy) {
      clearTimeout(this.#idle);
      this.#idle = undefined;
      if (!this.#sweeper) {
        this.#sweeper = setInterval(() => void this.#sweep(), this.sweepEvery);
        this.#sweeper.unref();
      }
      if (!this.#checker) {
        this.#awaySince = undefined;
        this.#checker = setInterval(() => this.#checkRedis(), checkEvery);
        this.#checker.unref();
      }
    } else if (!this.#idle) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      clearInterval(this.#checker);
      this.#checker = undefined;
      this.#idle = setTimeout(() => {
        this.#idle = undefined;
        void this.#stopListening();
        this.#parkIfAway();
      }, listenAfterIdleMs).unref();
    }
  }

  /**
   * Whether Redis answers, while jobs are watched: a check at a time. A job's answer comes through
   * Redis, so a caller whose Redis is gone for good would wait for it for ever; each watcher is told
   * how long Redis has been away, and gives up when it chooses (the transport's reconnectTimeout).
   * The connection's close says when it went; a check that fails, or that a whole interval does not
   * answer (a connection that hangs without closing), says so too. The check is a small write that
   * expires, not a PING: a Redis out of memory (maxmemory, noeviction) or turned read-only answers
   * a PING but refuses every write, BullMQ's included, and no answer would ever be stored.
   */
  #checkRedis(): void {
    this.#sayCallerAlive();
    if (this.#pingedAt === undefined) {
      const pingedAt = perfNow();
      this.#pingedAt = pingedAt;
      this.#adding.set(this.queue.toKey('run-in-process:checked'), '1', 'PX', 1_000).then(
        () => {
          this.#awaySince = undefined;
          this.#pingedAt = undefined;
          this.#refusing = undefined;
          // Back, with no subscription (one that failed while Redis was away): a new one.
          if (!this.#listening) this.#relisten();
        },
        (error: Error) => {
          this.#awaySince ??= pingedAt;
          this.#pingedAt = undefined;
          // Redis's own answer (a ReplyError), when it gives one: a lost connection says why through
          // the client's 'error' (#unreachable).
          if (error.name === 'ReplyError') this.#refusing = error.message;
        },
      );
    }
    // Judged after this turn's I/O: an answer that came while this process was busy (a long
    // synchronous task) is read first, and its PING does not count as unanswered.
    setImmediate(() => this.#judgeRedis());
  }

  /** Every quarter of its word's life at most, and never less often than every 5 s: a write a while. */
  #sayCallerAlive(): void {
    const now = perfNow();
    const every = Math.min(this.callerWord.lastsMs / 4, 5_000);
    if (this.#callerSaidAt !== undefined && now - this.#callerSaidAt < every) return;
    this.#callerSaidAt = now;
    this.#adding.set(this.callerWord.key(this.callerId), '1', 'PX', this.callerWord.lastsMs).catch(() => {
      this.#callerSaidAt = undefined; // Said again at the next check.
    });
  }

  #judgeRedis(): void {
    const now = perfNow();
    if (this.#pingedAt !== undefined && now - this.#pingedAt >= checkEvery) this.#awaySince ??= this.#pingedAt;
    if (this.#awaySince === undefined || this.#closed) return;
    const away = Math.round(now - this.#awaySince);
    for (const { watcher } of [...this.#watchers.values()]) {
      try {
        watcher.unreachable(away, this.#unreachable, this.#unreachable ? undefined : this.#refusing);
      } catch {
        // One watcher that throws must not keep the others waiting.
      }
    }
  }

  /**
   * The state first, then the job: BullMQ sets a job's state and its return value (or failed reason)
   * in one script, so a job read after its state is at least as new as that state. Read the other
   * way round, a job that finished between the two reads is "completed" with the return value it had
   * before: none, which would fail every call of the job.
   */
  async #read(jobId: string): Promise<Stored> {
    const state = await this.queue.getJobState(jobId);
    if (state === 'completed' || state === 'failed') {
      let job: Stored['job'];
      try {
        job = await this.queue.getJob(jobId);
      } catch (error) {
        // BullMQ parses the job's fields as it reads them: a job that something else wrote to (its data
        // not JSON) throws here for ever. Said to its watcher, rather than taken for Redis being away,
        // which would stop every sweep at this job, and the jobs watched after it with it.
        if (!(error instanceof SyntaxError || error instanceof TypeError)) throw error;
        return { state, job: undefined, exists: true, unreadable: messageOf(error) };
      }
      return { state, job, exists: job !== undefined };
    }
    // Not finished: whether it is still there is enough. The job itself holds its calls' arguments,
    // up to maxPayloadBytes each, which a sweep would otherwise read again every few seconds.
    return { state, job: undefined, exists: (await this.#adding.exists(this.queue.toKey(jobId))) === 1 };
  }

  /** A finished job's stored outcome, to its watcher. */
  #settle(jobId: string, { state, job, unreadable }: Stored): void {
    if (unreadable !== undefined) {
      this.#finish(jobId)?.lost(
        new JobLostError(
          `Job ${jobId} finished, but its record in Redis cannot be read (${unreadable}): something other than ` +
            `run-in-process wrote to it. Whether its calls succeeded is not known. (Keep write access to Redis to ` +
            `callers and workers.)`,
          jobId,
        ),
      );
      return;
    }
    if (state !== 'completed') {
      this.#finish(jobId)?.failed(job?.failedReason ?? '');
      return;
    }
    if (!isAnswerApart(job?.returnvalue)) {
      this.#finish(jobId)?.completed(job?.returnvalue, true);
      this.discard(jobId);
      return;
    }
    this.#answerApart(jobId).then(
      (answer) => {
        if (answer === undefined) this.#lostAnswer(jobId);
        else this.#finish(jobId)?.completed(answer, true);
        this.discard(jobId);
      },
      () => {}, // Redis is away: the sweep asks again.
    );
  }

  /** The answer its worker stored apart (envelope.ts answerApart); undefined if it is not there. */
  async #answerApart(jobId: string): Promise<unknown> {
    const text = await this.#adding.get(answerKeyOf(this.queue.toKey(jobId)));
    if (text === null) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text; // Not the worker's: refused as a malformed answer, rather than asked about again and again.
    }
  }

  /** Heard finished, its answer stored apart: read from there, or from the job if it is not there (yet). */
  async #settleApart(jobId: string, eventId: string): Promise<void> {
    let answer: unknown;
    try {
      answer = await this.#answerApart(jobId);
    } catch {
      return; // Redis is away: the sweep asks again.
    }
    const entry = this.#watchers.get(jobId);
    if (!entry) return;
    if (answer !== undefined && entry.watcher.completed(answer, false)) {
      this.forget(jobId);
      this.discard(jobId, eventId);
    } else void this.#settleFromStore(jobId);
  }

  #lostAnswer(jobId: string): void {
    this.#finish(jobId)?.lost(
      new JobLostError(
        `Job ${jobId} finished, but its answer is no longer in Redis (it expired, or Redis lost it): whether its calls ` +
          `succeeded is not known.`,
        jobId,
      ),
    );
  }

  #lost(jobId: string): void {
    this.#finish(jobId)?.lost(
      new JobLostError(
        `The queue no longer has job ${jobId}: its Redis lost it (restarted without persistence?) before a worker answered.`,
        jobId,
      ),
    );
  }

  /**
   * An answer heard for a job did not hold: the job's own answer decides. A job not finished yet
   * (the event was forged) is watched on: its real answer comes as an event, or the sweep finds it.
   */
  async #settleFromStore(jobId: string): Promise<void> {
    let stored: Stored;
    try {
      stored = await this.#read(jobId);
    } catch {
      return; // Redis is away: the sweep asks again.
    }
    if (!this.#watchers.has(jobId)) return;
    if (!stored.exists) this.#lost(jobId);
    else if (stored.state === 'completed' || stored.state === 'failed') this.#settle(jobId, stored);
  }

  /**
   * Asks the queue about jobs watched for a while: an event missed is found here. And whether any
   * worker is left: BullMQ finds a lost worker's job only from another live worker. `everyJob`: not
   * only those watched for a sweep's interval (after a gap in the subscription).
   */
  async #sweep(everyJob = false): Promise<void> {
    const before = everyJob ? Number.POSITIVE_INFINITY : wallNow() - this.sweepEvery;
    let alive: number;
    try {
      alive = await this.workers.count();
    } catch {
      return; // Redis is away: the next sweep asks again.
    }
    for (const [jobId, { since, watcher }] of this.#watchers) {
      if (since === undefined || (since > before && alive > 0)) continue;
      let stored: Stored;
      try {
        stored = await this.#read(jobId);
      } catch {
        return; // Redis is away: the next sweep asks again.
      }
      if (!this.#watchers.has(jobId)) continue;
      const { state, exists } = stored;
      if (!exists) {
        this.#lost(jobId);
        continue;
      }
      if (state === 'completed' || state === 'failed') {
        this.#settle(jobId, stored);
        continue;
      }
      if (alive > 0 || state === 'unknown') continue;
      // Counted again before a job is given up on: a worker that started since the count (the reads
      // above take a round trip each) may have taken it, and runs it.
      try {
        alive = await this.workers.count();
      } catch {
        return; // Redis is away: the next sweep asks again.
      }
      if (alive > 0 || !this.#watchers.has(jobId)) continue;
      if (state === 'active') watcher.orphaned('active', await this.workerOf(jobId));
      else watcher.orphaned('waiting', undefined);
    }
  }
}

/** What the queue holds of a job: its state, whether it is there, and, once finished, the job read after its state. */
interface Stored {
  state: Awaited<ReturnType<Queue['getJobState']>>;
  job: Awaited<ReturnType<Queue['getJob']>>;
  exists: boolean;
  /** Finished, but BullMQ could not read the job (why): something else wrote to it. */
  unreadable?: string;
}

/** Lets a client's socket hold the process open, or not. */
function refSocket(client: Redis, hold: boolean): void {
  const socket = (client as unknown as { stream?: { ref?: () => void; unref?: () => void } }).stream;
  if (hold) socket?.ref?.();
  else socket?.unref?.();
}

/**
 * BullMQ 6.7's close() of a Queue or QueueEvents can wait for ever once Redis has restarted under
 * it: it is given a second, then the connections are dropped (release()), which ends what it waits for.
 * One that fails has closed what it could: it rejects with the error its connection met first (an
 * ACL user without INFO: BullMQ's check of Redis's version), which nobody waits on a close for, and
 * which ended the process as an unhandled rejection.
 */
async function withinASecond(closing: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closing.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, 1_000)))]);
  clearTimeout(timer);
}
