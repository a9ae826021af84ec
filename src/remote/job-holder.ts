import type { Redis } from 'ioredis';

/**
 * Which worker holds a job, as the worker itself wrote it when it started the job's calls: what
 * WorkerLostError.worker reports.
 *
 * Not BullMQ's `processedBy` alone: BullMQ sets it each time a worker takes the job, and a job
 * whose worker died is taken once more, by a live worker, to be failed (its stall check moves it
 * back to the queue with a deferred failure). Read after that, `processedBy` names the worker that
 * failed it, not the one that was lost.
 *
 * The name goes in a field of the job's own hash, so that it lives and expires with the job; only
 * while the job exists, so that a job already gone (removed, or lost with a Redis restart) is not
 * made again as a stray hash, which BullMQ would read as a job with no data. The first name written
 * stays.
 */
const field = 'run-in-process:worker';

const recordScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
end`;

/** A worker's side: says that `worker` holds the job whose hash is `jobKey`. */
export async function recordHolder(redis: Redis, jobKey: string, worker: string): Promise<void> {
  await redis.eval(recordScript, 1, jobKey, field, worker);
}

/**
 * A caller's side: the worker that holds, or held, the job. Without a record (a worker of an
 * earlier version, or one that died before its record reached Redis), BullMQ's `processedBy`, but
 * only while the job was taken once (`ats`, attempts started): taken again, it names whoever failed
 * it. Else unknown.
 */
export async function holderOf(redis: Redis, jobKey: string): Promise<string | undefined> {
  const [recorded, processedBy, started] = await redis.hmget(jobKey, field, 'pb', 'ats');
  if (recorded) return recorded;
  return processedBy && Number(started ?? 1) <= 1 ? processedBy : undefined;
}

/** A worker's side, handing a job back unrun: the worker that takes it next records itself. */
export async function forgetHolder(redis: Redis, jobKey: string): Promise<void> {
  await redis.hdel(jobKey, field);
}

/**
 * Where a caller marks a job it stopped while a worker held it (its abort or timeout came when the
 * job could not be dropped from the queue): a worker that takes the job again, handed back by one
 * that shut down, answers it as stopped, unrun. Kept as long as a finished job is.
 */
export function stopMarkOf(jobKey: string): string {
  return `${jobKey}:run-in-process:stopped`;
}
