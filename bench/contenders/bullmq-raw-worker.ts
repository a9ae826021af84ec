// The worker process of the raw BullMQ contender: a bullmq Worker whose processor does the least
// work a job can: `tiny` returns x + 1, `echo` its argument. A Buffer travels as base64 in the
// job's JSON (BullMQ stores data and return values as JSON); the processor decodes it and encodes
// it again, as an app that reads and returns bytes must.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { RawJob } from './bullmq-raw.js';

const [socket, queueName, concurrency] = process.argv.slice(2) as [string, string, string];

const worker = new Worker<RawJob>(
  queueName,
  async ({ data }) => {
    if (data.op === 'tiny') return (data.arg as number) + 1;
    if (data.bytes !== undefined) return { bytes: Buffer.from(data.bytes, 'base64').toString('base64') };
    return data.arg;
  },
  {
    connection: new Redis({ path: socket, maxRetriesPerRequest: null }),
    concurrency: Number(concurrency),
    // The remote pool's worker settings (src/remote/worker.ts, bullmq() defaults), so both renew locks alike.
    maxStalledCount: 0,
    lockDuration: 5_000,
    stalledInterval: 5_000,
  },
);
worker.on('error', () => {});
await worker.waitUntilReady();
process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));
console.log('raw bullmq worker ready');
