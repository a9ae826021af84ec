import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { readyLine, spawnReaped } from '../reaper.js';
import type { Contender, Op, Session } from './contender.js';

/** A job's data: a Buffer goes as base64 (`bytes`), anything else as JSON (`arg`). */
export interface RawJob {
  readonly op: Op;
  readonly arg?: unknown;
  readonly bytes?: string;
}

interface Waiting {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const workerPath = fileURLToPath(new URL('./bullmq-raw-worker.js', import.meta.url));

/**
 * What an app writes by hand with BullMQ: `queue.add` per call, a Worker in another process
 * (bullmq-raw-worker.ts) with the same concurrency as the remote pool's, and one QueueEvents whose
 * 'completed' events are dispatched to the waiting calls by job id. Not `job.waitUntilFinished`,
 * which adds a listener per job: with 10,000 jobs in flight, each event would be offered to 10,000.
 * The same job options as the remote pool's jobs (src/remote/caller-transport.ts).
 */
export function rawBullmq(socket: string, concurrency: number): Contender {
  return {
    id: 'raw-bullmq',
    label: 'raw BullMQ (queue.add + Worker + QueueEvents)',
    async start() {
      const queueName = 'raw-bench';
      const worker = spawnReaped(process.execPath, [workerPath, socket, queueName, String(concurrency)]);
      await readyLine(worker, /raw bullmq worker ready/, 'the raw BullMQ worker');
      const connection = new Redis({ path: socket, maxRetriesPerRequest: null });
      const queue = new Queue<RawJob>(queueName, { connection });
      // A fresh queue on a fresh server: reading its events from the start misses none, even one
      // that comes before the first blocking read is under way (the default, '$', would).
      const events = new QueueEvents(queueName, { connection: { path: socket }, lastEventId: '0-0' });
      await events.waitUntilReady();
      const waiting = new Map<string, Waiting>();
      /** Answers that came before `queue.add` returned their job's id. */
      const early = new Map<string, [ok: boolean, value: unknown]>();
      const settle = (jobId: string, ok: boolean, value: unknown) => {
        const call = waiting.get(jobId);
        if (!call) return void early.set(jobId, [ok, value]);
        waiting.delete(jobId);
        if (ok) call.resolve(value);
        else call.reject(new Error(`raw BullMQ job ${jobId} failed: ${String(value)}`));
      };
      events.on('completed', ({ jobId, returnvalue }) => settle(jobId, true, returnvalue));
      events.on('failed', ({ jobId, failedReason }) => settle(jobId, false, failedReason));

      const session: Session = {
        async call(op, arg) {
          const data: RawJob =
            arg instanceof Uint8Array
              ? { op, bytes: Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength).toString('base64') }
              : { op, arg };
          const job = await queue.add('call', data, {
            attempts: 1,
            removeOnComplete: { age: 600 },
            removeOnFail: { age: 600 },
          });
          const jobId = job.id!;
          const value = await new Promise<unknown>((resolve, reject) => {
            const known = early.get(jobId);
            if (!known) return void waiting.set(jobId, { resolve, reject });
            early.delete(jobId);
            if (known[0]) resolve(known[1]);
            else reject(new Error(`raw BullMQ job ${jobId} failed: ${String(known[1])}`));
          });
          const bytes = (value as { bytes?: unknown } | null)?.bytes;
          return typeof bytes === 'string' ? Buffer.from(bytes, 'base64') : value;
        },
        async close() {
          await worker.stop();
          await events.close();
          await queue.close();
          connection.disconnect();
        },
      };
      return session;
    },
  };
}
