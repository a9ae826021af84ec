import type { Redis, RedisOptions } from 'ioredis';
import { optionError } from '../errors.js';
import { longestTimer, type PoolTransport } from '../options.js';
import type { Transport, TransportEvents, TransportProvider } from '../pool/transport.js';
import { buildIdFor, callerFile, namesAnotherQueue, queueNameOf } from './build-id.js';
import { CallerTransport } from './caller-transport.js';
import { checkedConnection, checkedConnectionOptions } from './connection.js';
import { type CodecChoice, codecTag, sealCancel } from './envelope.js';
import { loadBullMQ } from './peers.js';
import { QueueLink } from './queue-link.js';
import { type BullmqSettings, largestPayloadBytes } from './settings.js';

export interface BullmqOptions {
  /**
   * Redis: a URL (`redis://user:pass@10.0.0.5:6379`, `rediss://…` for TLS), a Unix socket path
   * (relative to the working directory, or absolute), or ioredis options.
   */
  connection: string | RedisOptions;
  /** Names the queues of this build (default: RUN_IN_PROCESS_BUILD_ID, or the app's package version). */
  buildId?: string;
  /** BullMQ's key prefix in Redis. Default: `bull`. */
  prefix?: string;
  /** A secret shared by callers and workers: each envelope is signed with it (HMAC-SHA256) and checked before it is read. */
  secret?: string;
  /** The largest call payload sent, in bytes; a larger one is refused with SerializationError. Default: 4 MiB; at most 256 MiB. */
  maxPayloadBytes?: number;
  /** How long a worker holds a job between renewals (ms). Default: 5 000. */
  lockDuration?: number;
  /** How often workers look for jobs whose worker went silent (ms). Default: 5 000. */
  stalledInterval?: number;
  /**
   * A caller's side: how long its calls in flight wait for Redis to answer again once it stops
   * answering (ms). Past that, they fail with TransportUnavailableError (`mayHaveRun: true`), so
   * that every call settles even when Redis does not come back. Default: 5 000.
   */
  reconnectTimeout?: number;
  /**
   * A caller's side: how long after its last word that it is alive (it says so every few seconds
   * while it has calls out) a worker takes it for gone, and drops a job of its that is still waiting
   * rather than run it for nobody (a caller that crashed, a rollback that brings back workers of an
   * old build days later). Default: 60 000 ms.
   */
  callerGoneAfter?: number;
  /**
   * When no live worker takes the pool's calls: false fails a call at once with NoWorkerError (a
   * typo in the pool, a build no worker runs, workers down); true lets it wait in the queue for one.
   * Default: false.
   */
  waitForWorker?: boolean;
  /**
   * How payloads are encoded: `'portable'` (msgpackr, read alike by every Node line) or `'v8'`
   * (Node's own format: no re-encoding, but read only by workers on this caller's Node major; one
   * on another refuses the call, saying so). Default: `'portable'`.
   */
  codec?: CodecChoice;
}

export interface BullmqTransport extends PoolTransport {
  readonly settings: BullmqSettings;
}

/** One link per queue per process, shared by the pools that use it. */
const links = new Map<string, QueueLink>();

/** A transport for `configure(pool, { transport })`, and for the workers' `serve({ transport })`. */
export function bullmq(options: BullmqOptions): BullmqTransport {
  loadBullMQ(); // A missing peer is an error here, saying what to install.
  const settings = checked(options);
  const connectionKey = keyOf(settings.connection);
  const provider: BullmqTransport & TransportProvider = {
    kind: 'run-in-process:transport',
    description: `bullmq (${settings.where})`,
    settings,
    checkPool(pool: string): void {
      queueNameOf(pool, buildIdFor(settings.buildId, callerFile(pool)));
    },
    createTransport(pool: string, events: TransportEvents): Transport {
      const queueName = queueNameOf(pool, buildIdFor(settings.buildId, callerFile(pool)));
      // The whole connection (database, user, password, TLS), not just where it points: a pool moved to
      // another database or to new credentials must not keep the old link.
      const linkKey = `${connectionKey}|${settings.prefix ?? ''}|${queueName}`;
      let link = links.get(linkKey);
      if (!link || link.closed) {
        link = new QueueLink(
          queueName,
          (redisOptions) => settings.redis(loadBullMQ().Redis, redisOptions),
          settings.prefix,
          settings.presenceKey(queueName),
          undefined,
          settings.lockDuration + settings.stalledInterval,
          { key: (caller) => settings.callerKey(queueName, caller), lastsMs: settings.callerGoneAfter },
        );
        links.set(linkKey, link);
      }
      const channel = settings.cancelChannel(queueName);
      const used = link;
      return new CallerTransport(used, events, {
        pool,
        where: settings.where,
        reconnectTimeout: settings.reconnectTimeout,
        lockDuration: settings.lockDuration,
        waitForWorker: settings.waitForWorker,
        secret: settings.secret,
        maxPayloadBytes: settings.maxPayloadBytes,
        codec: settings.codec,
        cancel: (jobId) => used.publish(channel, sealCancel(jobId, settings.secret)),
        onReleased: () => links.get(linkKey) === used && links.delete(linkKey),
      });
    },
  };
  return provider;
}

function checked(options: BullmqOptions): BullmqSettings {
  if (typeof options !== 'object' || options === null) {
    throw optionError("bullmq(options): options must be an object like { connection: 'redis://localhost:6379' }.");
  }
  const known: ReadonlyArray<keyof BullmqOptions> = [
    'connection',
    'buildId',
    'prefix',
    'secret',
    'maxPayloadBytes',
    'lockDuration',
    'stalledInterval',
    'reconnectTimeout',
    'callerGoneAfter',
    'waitForWorker',
    'codec',
  ];
  for (const key of Object.keys(options)) {
    if (!(known as string[]).includes(key)) {
      throw optionError(`bullmq(options): unknown option "${key}". Known options: ${known.join(', ')}.`);
    }
  }
  const { connection, buildId, prefix, secret, waitForWorker = false, codec = 'portable' } = options;
  if (codec !== 'portable' && codec !== 'v8') {
    throw optionError(`bullmq(options): codec must be 'portable' or 'v8' (got ${String(codec)}).`);
  }
  if (typeof waitForWorker !== 'boolean') {
    throw optionError(`bullmq(options): waitForWorker must be true or false (got ${typeof waitForWorker}).`);
  }
  if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null)) {
    throw optionError(
      "bullmq(options): connection must be a Redis URL ('redis://host:6379') or ioredis options ({ host, port }).",
    );
  }
  // BullMQ refuses ioredis's keyPrefix itself, but only when a job is added: every call would fail.
  if (typeof connection === 'object' && (connection as { keyPrefix?: unknown }).keyPrefix !== undefined) {
    throw optionError(
      "bullmq(options): connection.keyPrefix is ioredis's, which BullMQ does not support. Give the key prefix as " +
        "bullmq({ prefix }) instead (BullMQ's own; default 'bull'), to callers and workers alike (the worker's --prefix).",
    );
  }
  for (const [name, value] of Object.entries({ buildId, prefix, secret })) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw optionError(`bullmq(options): ${name} must be a non-empty string (got ${typeof value}).`);
    }
  }
  // Refused here, as the worker's --build-id is, rather than at configure() (build-id.ts says why).
  if (buildId !== undefined && namesAnotherQueue(buildId)) {
    throw optionError(
      `bullmq(options): buildId cannot contain ':' or '@' (got '${buildId}'): it would name another pool's queue. ` +
        `Use letters, digits, '.', '-' or '_'.`,
    );
  }
  const positive = (name: string, value: number | undefined, fallback: number, most = Infinity): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > most) {
      const bound = most === Infinity ? '' : ` up to ${most}`;
      throw optionError(
        `bullmq(options): ${name} must be a positive whole number${bound} (got ${String(value)}).`,
        true,
      );
    }
    return value;
  };
  const { connection: to, where } =
    typeof connection === 'string' ? checkedConnection(connection) : checkedConnectionOptions(connection);
  return {
    connection: to,
    where,
    buildId,
    prefix,
    secret,
    maxPayloadBytes: positive('maxPayloadBytes', options.maxPayloadBytes, 4 * 1024 * 1024, largestPayloadBytes),
    // Timers: BullMQ's lock renewal (lockDuration / 2), its stall check, and the presence beat
    // ((lockDuration + stalledInterval) / 3) all stay within what Node can wait.
    lockDuration: positive('lockDuration', options.lockDuration, 5_000, longestTimer),
    stalledInterval: positive('stalledInterval', options.stalledInterval, 5_000, longestTimer),
    reconnectTimeout: positive('reconnectTimeout', options.reconnectTimeout, 5_000, longestTimer),
    callerGoneAfter: callerWordMs(positive('callerGoneAfter', options.callerGoneAfter, 60_000, longestTimer)),
    redis: (Redis, redisOptions) =>
      typeof to === 'string'
        ? new (Redis as unknown as new (url: string, options: RedisOptions) => Redis)(to, redisOptions)
        : new (Redis as unknown as new (options: RedisOptions) => Redis)({ ...to, ...redisOptions }),
    waitForWorker,
    codec: codecTag(codec),
    cancelChannel: (queueName) => `${prefix ?? 'bull'}:${queueName}:run-in-process:cancel`,
    presenceKey: (queueName) => `${prefix ?? 'bull'}:${queueName}:run-in-process:workers`,
    callerKey: (queueName, caller) => `${prefix ?? 'bull'}:${queueName}:run-in-process:caller:${caller}`,
  };
}

/** The connection as a key: options that cannot be written out (a cycle) are this transport's alone. */
function keyOf(connection: string | RedisOptions): string {
  try {
    return JSON.stringify(connection);
  } catch {
    return `unshared:${Math.random()}`;
  }
}

/**
 * A caller says it is alive at its health checks, every 250 ms at the most often (queue-link.ts):
 * a word shorter than a second would run out between two of them, a live caller's waiting jobs
 * dropped as its.
 */
function callerWordMs(ms: number): number {
  if (ms < 1_000) {
    throw optionError(
      `bullmq(options): callerGoneAfter must be at least 1000 ms (got ${ms}): a caller says it is alive every 250 ms at ` +
        'most, and a shorter word would run out between two, its waiting jobs dropped while it lives.',
      true,
    );
  }
  return ms;
}
