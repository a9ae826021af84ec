import type { Redis } from 'ioredis';

/**
 * Which workers of a queue are alive, as they say themselves: a sorted set per queue whose members
 * are the workers' names and whose scores are when each one's word runs out. Times are Redis's
 * own clock (TIME inside the scripts), so that machines whose clocks differ agree.
 *
 * BullMQ notices a worker that went silent only from another live worker (its stall check); a
 * caller needs to know also when none is left, and before it adds a job that no one would take.
 */

/** Says "alive for `ttl` ms more", and forgets the workers whose word ran out. */
const announceScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return now`;

/** How many workers' word has not run out yet. */
const countScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`;

export interface Presence {
  /** Stops saying it is alive, and says it is gone. */
  leave(): Promise<void>;
}

/**
 * A worker's side: says it is alive at once and then every `ttl / 3` ms, each time for `ttl` ms;
 * `ttl` is the time in which BullMQ itself would find it lost (lock duration plus stall interval),
 * so that callers do not give up on a worker that BullMQ still trusts.
 */
export async function announce(redis: Redis, key: string, name: string, ttl: number): Promise<Presence> {
  const say = () => redis.eval(announceScript, 1, key, name, ttl);
  await say();
  const timer = setInterval(() => void say().catch(() => {}), Math.max(100, Math.floor(ttl / 3)));
  timer.unref();
  return {
    async leave() {
      clearInterval(timer);
      await redis.zrem(key, name).catch(() => 0);
    },
  };
}

/** A caller's side: how many workers of the queue are alive now. */
export async function liveWorkers(redis: Redis, key: string): Promise<number> {
  return Number(await redis.eval(countScript, 1, key));
}

/**
 * The builds whose workers serve a pool, read from their presence keys (`<prefix>:<pool>@<build>:…`):
 * for the message that says none serves the caller's build. Only on that error path: it scans keys.
 */
export async function buildsServing(
  redis: Redis,
  pattern: string,
  buildOf: (key: string) => string,
): Promise<string[]> {
  const builds = new Set<string>();
  let cursor = '0';
  let rounds = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) if ((await liveWorkers(redis, key)) > 0) builds.add(buildOf(key));
  } while (cursor !== '0' && ++rounds < 100);
  return [...builds].sort();
}
