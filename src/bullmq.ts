/**
 * `run-in-process/bullmq`: the same decorated methods, run by workers on other machines through a
 * BullMQ queue on Redis. Needs the optional peer dependencies bullmq (6.x) and ioredis (5.x).
 *
 * @example
 * configure('render', { transport: bullmq({ connection: 'redis://10.0.0.5:6379' }), timeout: 30_000 });
 * // on each worker machine:
 * const worker = await serve({ transport: bullmq({ connection }), pool: 'render', modules: ['./dist/thumbnailer.js'] });
 */
export { bullmq, type BullmqOptions, type BullmqTransport } from './remote/bullmq-transport.js';
export { serve, type RemoteWorker, type ServeOptions } from './remote/worker.js';
