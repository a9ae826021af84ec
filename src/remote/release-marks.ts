import type { Redis } from 'ioredis';

/**
 * How many of a job's calls its worker has handed to its local pool, where they may have run: a
 * field of the job's own hash (it lives and goes with the job), written by the worker before each
 * window of calls it hands over (release-gate.ts), as `<attempt>:<count>[:<signature>]`.
 *
 * When its caller takes the worker for lost, it freezes the field and reads it in one step: the
 * calls beyond the count never ran, and go again; the others may have run, and fail as lost (at
 * most once). A worker taken for lost that was only slow finds the field frozen and hands over
 * nothing more, so a call is never both sent again and run by it. A job with no count written (one
 * call, a worker of an earlier version, or one that died before its first count reached Redis),
 * or a count of an earlier take of the job, tells nothing: every call may have run.
 */
const field = 'run-in-process:released';
/** Set by the caller: the count stays as it is (read again, it says the same). */
const frozenField = 'run-in-process:released-frozen';

/** Writes the count, unless the job is gone or the count frozen: 1 if written. */
const markScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/** Freezes the count, and returns it with the job's takes so far; nothing if the job is gone. */
const freezeScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], ARGV[2], '1')
local said = redis.call('HMGET', KEYS[1], ARGV[1], 'ats')
return {said[1] or '', said[2] or ''}`;

/** A worker's side: whether the count was written (not: its caller took it for lost, or the job is gone). */
export async function markReleased(redis: Redis, jobKey: string, sealed: string): Promise<boolean> {
  return Number(await redis.eval(markScript, 1, jobKey, field, sealed, frozenField)) === 1;
}

/** A worker's side, handing a job back unrun: the worker that takes it next counts from nothing. */
export async function forgetReleased(redis: Redis, jobKey: string): Promise<void> {
  // Not the frozen mark: a caller that took this worker for lost has sent the calls again.
  await redis.hdel(jobKey, field);
}

/**
 * A caller's side, its worker lost: the count as the worker sealed it and the job's takes so far,
 * the count frozen from now on; undefined if the job is gone.
 */
export async function freezeReleased(
  redis: Redis,
  jobKey: string,
): Promise<{ sealed: string; attempts: number } | undefined> {
  const said = (await redis.eval(freezeScript, 1, jobKey, field, frozenField)) as [string, string] | null;
  if (!said) return undefined;
  return { sealed: said[0], attempts: Number(said[1]) || 1 };
}
