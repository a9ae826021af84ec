import type { Queue, QueueEvents } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { JobLostError } from '../errors.js';
import { loadBullMQ } from './peers.js';

/** What becomes of one job, as the caller hears it. */
export interface JobWatcher {
  active(): void;
  completed(returnValue: unknown): void;
  failed(reason: string): void;
  /** The job is gone from the queue, with no result (its store restarted without persistence). */
  lost(error: JobLostError): void;
}

/** How to reach Redis: a URL (`redis://host:6379`, `rediss://…`, `redis+unix:///path`) or ioredis options. */
export type Connection = string | RedisOptions;

/**
 * A caller's side of one queue, shared by every pool of this process that uses it: one Queue to
 * add jobs, and one event subscription (QueueEvents) that hears every job's fate and passes it to
 * that job's watcher, by id. Not `job.waitUntilFinished`, which adds a listener per wait and misses
 * the result of a job already removed. The events stream is trimmed, so an event can be missed: a
 * sweep asks the queue about each job that has waited a while.
 *
 * While no job is watched, its connections do not keep the process alive.
 */
export class QueueLink {
  readonly queue: Queue;
  readonly #events: QueueEvents;
  readonly #clients: Redis[];
  readonly #watchers = new Map<string, { watcher: JobWatcher; since: number }>();
  #sweeper: NodeJS.Timeout | undefined;
  #users = 0;

  constructor(
    readonly queueName: string,
    connect: (options: RedisOptions) => Redis,
    prefix: string | undefined,
    readonly sweepEvery = 5_000,
  ) {
    const { bullmq } = loadBullMQ();
    const client = (blocking: boolean): Redis => {
      // A command of the client that adds jobs fails after one retry when Redis is away (the call
      // then fails, promptly); the one that listens waits for Redis to come back.
      const redis = connect({ maxRetriesPerRequest: blocking ? null : 1, connectTimeout: 1_000 });
      // Each new socket (one per reconnection) starts as idle as the link is.
      redis.on('connect', () => this.#refresh());
      redis.on('error', () => {}); // Reported to the call that meets it, not to the process.
      return redis;
    };
    const adding = client(false);
    const listening = client(true);
    this.#clients = [adding, listening];
    this.queue = new bullmq.Queue(queueName, {
      connection: adding,
      ...(prefix && { prefix }),
      skipWaitingForReady: true,
    });
    this.#events = new bullmq.QueueEvents(queueName, { connection: listening, ...(prefix && { prefix }) });
    this.queue.on('error', () => {});
    this.#events.on('error', () => {});
    this.#events.on('active', ({ jobId }) => this.#watchers.get(jobId)?.watcher.active());
    this.#events.on('completed', ({ jobId, returnvalue }) => this.#finish(jobId)?.completed(returnvalue));
    this.#events.on('failed', ({ jobId, failedReason }) => this.#finish(jobId)?.failed(failedReason));
  }

  /** Resolves once both connections are up; rejects after `within` ms if Redis cannot be reached. */
  async ready(within = 1_000): Promise<void> {
    if (this.#clients.every((client) => client.status === 'ready')) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no connection to Redis within ${within} ms`)), within);
    });
    try {
      await Promise.race([Promise.all([this.queue.waitUntilReady(), this.#events.waitUntilReady()]), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  watch(jobId: string, watcher: JobWatcher): void {
    this.#watchers.set(jobId, { watcher, since: Date.now() });
    this.#refresh();
  }

  forget(jobId: string): void {
    this.#watchers.delete(jobId);
    this.#refresh();
  }

  /** Asks the worker that holds a job to stop it. */
  async publish(channel: string, message: string): Promise<void> {
    await this.#clients[0]!.publish(channel, message);
  }

  use(): void {
    this.#users++;
  }

  /** The last pool using it closes it. */
  async release(): Promise<boolean> {
    if (--this.#users > 0) return false;
    clearInterval(this.#sweeper);
    await Promise.allSettled([this.#events.close(), this.queue.close()]);
    for (const client of this.#clients) client.disconnect();
    return true;
  }

  #finish(jobId: string): JobWatcher | undefined {
    const entry = this.#watchers.get(jobId);
    if (entry) this.forget(jobId);
    return entry?.watcher;
  }

  /** Sockets hold the process open only while jobs are watched; so does the sweep. */
  #refresh(): void {
    const busy = this.#watchers.size > 0;
    for (const client of this.#clients) {
      const socket = (client as unknown as { stream?: { ref?: () => void; unref?: () => void } }).stream;
      if (busy) socket?.ref?.();
      else socket?.unref?.();
    }
    if (busy && !this.#sweeper) {
      this.#sweeper = setInterval(() => void this.#sweep(), this.sweepEvery);
      this.#sweeper.unref();
    } else if (!busy && this.#sweeper) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** Asks the queue about jobs watched for a while: an event missed is found here. */
  async #sweep(): Promise<void> {
    const before = Date.now() - this.sweepEvery;
    for (const [jobId, { since }] of this.#watchers) {
      if (since > before) continue;
      let job: Awaited<ReturnType<Queue['getJob']>>;
      try {
        job = await this.queue.getJob(jobId);
      } catch {
        return; // Redis is away: the next sweep asks again.
      }
      if (!this.#watchers.has(jobId)) continue;
      if (!job) {
        this.#finish(jobId)?.lost(
          new JobLostError(
            `The queue no longer has job ${jobId}: its Redis lost it (restarted without persistence?) before a worker answered.`,
            jobId,
          ),
        );
        continue;
      }
      const state = await job.getState().catch(() => 'unknown');
      if (state === 'completed') this.#finish(jobId)?.completed(job.returnvalue);
      else if (state === 'failed') this.#finish(jobId)?.failed(job.failedReason);
    }
  }
}
