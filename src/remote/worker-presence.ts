import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { clearInterval, perfNow, setInterval, sleep, wallNow } from '../shared/real-clock.js';

/**
 * Which workers of a queue are alive, as they say themselves: a sorted set per queue whose members
 * are the workers (each its name and a nonce) and whose scores are when each one's word runs out. Times are Redis's
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
  /** How many workers alive as it started serve other targets than it does (workers of earlier versions not known). */
  readonly othersServingOtherwise: number;
}

/** The live members of a presence set, as they are written (`<name> <nonce>[ <served>]`). */
const membersScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')`;

/**
 * What a worker serves, in a few characters: workers of one queue must serve the same targets (a job
 * goes to whichever takes it first), and one that joins them serving others says so as it starts.
 */
export function servedFingerprint(keys: Iterable<string>): string {
  return createHash('sha256')
    .update([...keys].sort().join('\n'))
    .digest('hex')
    .slice(0, 12);
}

/**
 * A worker's side: says it is alive at once and then every `ttl / 3` ms, each time for `ttl` ms;
 * `ttl` is the time in which BullMQ itself would find it lost (lock duration plus stall interval),
 * so that callers do not give up on a worker that BullMQ still trusts.
 */
export async function announce(
  redis: Redis,
  key: string,
  name: string,
  ttl: number,
  /** What it serves (servedFingerprint), compared with what the workers already there serve. */
  served?: string,
): Promise<Presence> {
  // Its own member, not its name alone: two workers may share a name (`<host>:<pid>`, in containers
  // with one hostname and node as pid 1), and the one that left would take the other's word with it.
  const nonce = randomBytes(8).toString('hex');
  const member = served === undefined ? `${name} ${nonce}` : `${name} ${nonce} ${served}`;
  const say = () => redis.eval(announceScript, 1, key, member, ttl);
  // Those already there: a member of an earlier version has no third part.
  const others = ((await redis.eval(membersScript, 1, key).catch(() => [])) as string[]).filter(
    (other) => other !== member,
  );
  const othersServingOtherwise = others.filter((other) => {
    const theirs = other.split(' ')[2];
    return served !== undefined && theirs !== undefined && theirs !== served;
  }).length;
  await say();
  const again = () => void say().catch(() => {});
  const timer = setInterval(again, Math.max(100, Math.floor(ttl / 3)));
  timer.unref();
  // Said again on each reconnection: a Redis that restarted without its data (or a replica that took
  // over) has forgotten it, and callers would meet NoWorkerError until its next turn (up to ttl / 3).
  redis.on('ready', again);
  return {
    othersServingOtherwise,
    async leave() {
      clearInterval(timer);
      redis.off('ready', again);
      await redis.zrem(key, member).catch(() => 0);
    },
  };
}

/**
 * A caller's side, for one queue: whether its workers are alive, and, for the message that says
 * none is, which builds of the pool do have workers.
 */
export class LiveWorkers {
  /** When a worker was last seen alive; 0: not lately. */
  #seenAt = 0;
  #counting: Promise<number> | undefined;
  #builds: { at: number; found: Promise<string[]> } | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly prefix: string,
    /** How long a worker's word lasts (announce's `ttl`): it speaks again every third of it. */
    private readonly wordMs = 10_000,
  ) {}

  /**
   * Some worker is alive. One seen in the last second is taken as still there: calls made in a burst
   * ask once. Asked while Redis stalled for a second or more (stopped, swapping, a slow command),
   * none may be found whose worker lives: its word ran out during the stall, and its next word waits
   * in Redis beside the question, to be read after it. Then asked again once every worker has spoken.
   */
  async any(): Promise<boolean> {
    if (wallNow() - this.#seenAt < 1_000) return true;
    const askedAt = perfNow();
    if ((await this.count()) > 0) return true;
    if (perfNow() - askedAt < 1_000) return false;
    // Not holding the process: the call that asks does, until it settles (a shutdown() settles it).
    await sleep(Math.ceil(this.wordMs / 3) + 100, undefined, { ref: false });
    return (await this.count()) > 0;
  }

  /** How many are alive now (one question at a time, shared by whoever asks meanwhile). */
  async count(): Promise<number> {
    this.#counting ??= countAlive(this.redis, this.key).finally(() => (this.#counting = undefined));
    const alive = await this.#counting;
    this.#seenAt = alive > 0 ? wallNow() : 0;
    return alive;
  }

  /** The builds whose workers serve `pool`. It scans keys: asked once a second at most. */
  buildsServing(pool: string): Promise<string[]> {
    if (this.#builds && wallNow() - this.#builds.at < 1_000) return this.#builds.found;
    const found = this.#scan(pool);
    this.#builds = { at: wallNow(), found };
    return found;
  }

  /** Presence keys are `<prefix>:<pool>@<build>:run-in-process:workers`. */
  async #scan(pool: string): Promise<string[]> {
    const head = `${this.prefix}:${pool}@`;
    const tail = this.key.slice(this.key.lastIndexOf(':run-in-process:'));
    const pattern = `${head.replace(/[*?[\]\\]/g, '\\$&')}*${tail}`;
    const builds = new Set<string>();
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        if ((await countAlive(this.redis, key)) > 0) builds.add(key.slice(head.length, key.length - tail.length));
      }
    } while (cursor !== '0' && ++rounds < 100);
    return [...builds].sort();
  }
}

/** How many workers of the queue whose presence is at `key` are alive now (a worker that asks among them). */
export async function countAlive(redis: Redis, key: string): Promise<number> {
  return Number(await redis.eval(countScript, 1, key));
}
