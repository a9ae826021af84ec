import type { Redis, RedisOptions } from 'ioredis';
import type { Connection } from './connection.js';

/**
 * The largest `maxPayloadBytes`. A payload goes into the job's JSON as base64 (4/3 of its size):
 * past 256 MiB, that text nears what a Node string (2^29 characters) and a Redis value (512 MB) can
 * hold, and a call would fail deep in JSON.stringify or in Redis, after its payload was encoded.
 */
export const largestPayloadBytes = 256 * 1024 * 1024;

/** What `bullmq()` was given, checked, with defaults: shared by callers and workers. */
export interface BullmqSettings {
  connection: Connection;
  /** Where the connection points, for messages (no password). */
  where: string;
  buildId: string | undefined;
  prefix: string | undefined;
  secret: string | undefined;
  maxPayloadBytes: number;
  /** The payloads' codec tag: the portable one, or v8 of this Node major (envelope.ts). */
  codec: string;
  /** How long a worker holds a job between renewals (ms); a worker silent for longer has lost it. */
  lockDuration: number;
  /** How often workers look for jobs whose holder went silent (ms). */
  stalledInterval: number;
  /** How long a caller's calls in flight wait for Redis to answer again (ms); then TransportUnavailableError. */
  reconnectTimeout: number;
  /** How long a caller's word that it is alive lasts (ms): workers drop the jobs of a caller gone silent for longer. */
  callerGoneAfter: number;
  /** A new ioredis client on the connection. */
  redis(Redis: new (...args: never[]) => Redis, options: RedisOptions): Redis;
  /** A call for a queue with no live worker waits for one, rather than fail with NoWorkerError. */
  waitForWorker: boolean;
  /** The pub/sub channel on which callers ask workers to stop a job. */
  cancelChannel(queueName: string): string;
  /** The sorted set in which a queue's workers say they are alive (worker-presence.ts). */
  presenceKey(queueName: string): string;
  /** The key in which a caller with jobs out says it is alive (queue-link.ts), read by workers (job-runner.ts). */
  callerKey(queueName: string, caller: string): string;
}
