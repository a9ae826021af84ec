import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Processor, Worker } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { internal } from '../helpers/internal.js';
import { redisServerAvailable, type RedisServer, startRedis } from '../helpers/redis.js';

// A caller's queue link (remote/queue-link.ts), alone, on a real redis-server: jobs answered by a
// plain BullMQ worker in this process, so that the link's own reading of the queue is what is tested.

type QueueLinkModule = typeof import('../../build/lib/remote/queue-link.js');
type PresenceModule = typeof import('../../build/lib/remote/worker-presence.js');

const skip = redisServerAvailable() ? false : 'redis-server is not installed (apt-get install redis-server)';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Link = InstanceType<QueueLinkModule['QueueLink']>;

/** What a watcher of the link hears of a job: its return value, or a line saying how it ended otherwise. */
function watchJob(link: Link, jobId: string): Promise<unknown> {
  return new Promise<unknown>((resolve) =>
    link.watch(jobId, {
      active: () => {},
      completed: (returnValue) => {
        resolve(returnValue);
        return true;
      },
      failed: (reason) => resolve(`failed: ${reason}`),
      lost: (error) => resolve(`lost: ${error.message}`),
      orphaned: (state) => resolve(`orphaned while ${state}`),
      unreachable: () => {},
    }),
  );
}

/** Adds a job of data `{ n }` to the link's queue, watched: what its watcher hears of it. */
async function addWatched(link: Link, jobId: string, n: number): Promise<unknown> {
  const fate = watchJob(link, jobId);
  await link.queue.add('call', { n }, { jobId });
  link.added(jobId);
  return fate;
}

describe("a caller's queue link", { skip }, () => {
  let redis: RedisServer;
  let QueueLink: QueueLinkModule['QueueLink'];
  let announce: PresenceModule['announce'];
  const clients: Redis[] = [];
  const connect = (options: RedisOptions = {}): Redis => {
    const client = new Redis({ path: redis.socket, ...options });
    clients.push(client);
    return client;
  };

  /**
   * A link to a queue of its own that sweeps every 5 ms (and, with no call to ready(), has no event
   * subscription: every answer is found by the sweep), and a way to count a worker present on it.
   */
  const openLink = (queueName: string) => {
    const presenceKey = `bull:${queueName}:run-in-process:workers`;
    const link = new QueueLink(queueName, (options) => connect(options), undefined, presenceKey, 5);
    link.use();
    return { link, present: () => announce(connect(), presenceKey, 'in-process', 60_000) };
  };
  const workerOn = (queueName: string, processor: Processor, concurrency = 1) =>
    new Worker(queueName, processor, { connection: connect({ maxRetriesPerRequest: null }), concurrency });

  before(async () => {
    redis = await startRedis({ persistence: false });
    ({ QueueLink } = await internal<QueueLinkModule>('remote/queue-link.js'));
    ({ announce } = await internal<PresenceModule>('remote/worker-presence.js'));
  });

  after(async () => {
    for (const client of clients) client.disconnect();
    await redis?.stop();
  });

  test('its sweep, asking about jobs while they finish, hands each its return value, never a stale one', async () => {
    const queueName = 'sweep-race@test';
    // Every answer is found by the sweep, which reads the queue while the worker finishes jobs under it.
    const { link, present } = openLink(queueName);
    const presence = await present();
    const worker = workerOn(
      queueName,
      async (job) => {
        await sleep(Math.random() * 30);
        return { answer: job.data.n };
      },
      50,
    );
    try {
      const jobs = 400;
      const heard = await Promise.all(
        Array.from({ length: jobs }, async (_, n) => {
          return addWatched(link, `job-${n}`, n);
        }),
      );
      const wrong = heard
        .map((value, n) => [n, value] as const)
        .filter(([n, value]) => (value as { answer?: unknown } | null)?.answer !== n);
      assert.deepEqual(wrong.slice(0, 3), [], `${wrong.length} of ${jobs} jobs heard something else than their answer`);
    } finally {
      await worker.close();
      await presence.leave();
      await link.release();
    }
  });

  test('a finished job that something else wrote to (its data not JSON) is lost, and the sweep goes on to the jobs after it', async () => {
    const queueName = 'sweep-unreadable@test';
    const { link, present } = openLink(queueName);
    const presence = await present();
    // Watched first: before the fix, BullMQ's parse of its data threw, and every sweep stopped there.
    const bad = addWatched(link, 'bad', 0);
    const good = addWatched(link, 'good', 1);
    await sleep(50);
    const admin = connect();
    await admin.lrem(`bull:${queueName}:wait`, 0, 'bad');
    await admin.hset(`bull:${queueName}:bad`, 'data', '{');
    await admin.zadd(`bull:${queueName}:completed`, Date.now(), 'bad');
    const worker = workerOn(queueName, async (job) => ({ answer: job.data.n }));
    try {
      assert.match(
        String(await bad),
        /^lost: Job bad finished, but its record in Redis cannot be read \(.+\): something other/,
      );
      assert.deepEqual(await good, { answer: 1 });
    } finally {
      await worker.close();
      await presence.leave();
      await link.release();
    }
  });

  test('its sweep reads a job that runs for a while without its data: only whether it is still there', async () => {
    const queueName = 'sweep-bytes@test';
    const { link, present } = openLink(queueName);
    const presence = await present();
    const worker = workerOn(queueName, async () => {
      await sleep(1_000);
      return 'done';
    });
    const probe = connect();
    const sentByRedis = async () => Number(/total_net_output_bytes:(\d+)/.exec(await probe.info('stats'))?.[1]);
    try {
      const answer = watchJob(link, 'large');
      const before = await sentByRedis();
      // Watched before it is added, and swept every 5 ms: not taken for lost while the megabyte goes in.
      await link.queue.add('call', { argument: 'x'.repeat(1_000_000) }, { jobId: 'large' });
      link.added('large');
      assert.equal(await answer, 'done');
      const sent = (await sentByRedis()) - before;
      // The worker reads the 1 MB once; a sweep every 5 ms that read it each time would take hundreds.
      assert.ok(sent < 5_000_000, `Redis sent ${sent} bytes while the job ran`);
    } finally {
      await worker.close();
      await presence.leave();
      await link.release();
    }
  });

  test('its sweep leaves alone a job watched and not added yet, with no worker alive (a caller that waits for one)', async () => {
    const queueName = 'sweep-unadded@test';
    const { link, present } = openLink(queueName);
    // Every fate but its answer is noted, even one told after the answer.
    const told: unknown[] = [];
    const answer = new Promise<unknown>((resolve) =>
      link.watch('unadded', {
        active: () => {},
        completed: (returnValue) => {
          resolve(returnValue);
          return true;
        },
        failed: (reason) => told.push(`failed: ${reason}`),
        lost: (error) => told.push(`lost: ${error.message}`),
        orphaned: (state) => told.push(`orphaned while ${state}`),
        unreachable: () => {},
      }),
    );
    // Sweeps every 5 ms while its add is under way: it was taken for lost, though it then ran.
    await sleep(100);
    assert.deepEqual(told, []);
    const presence = await present();
    const worker = workerOn(queueName, async () => 'done');
    try {
      await link.queue.add('call', {}, { jobId: 'unadded' });
      link.added('unadded');
      assert.equal(await answer, 'done');
      assert.deepEqual(told, []);
    } finally {
      await worker.close();
      await presence.leave();
      await link.release();
    }
  });

  test('two workers that share a name are counted apart: the one that leaves does not take the other with it', async () => {
    const presenceKey = 'bull:same-name@test:run-in-process:workers';
    const link = new QueueLink('same-name@test', (options) => connect(options), undefined, presenceKey, 5);
    link.use();
    try {
      const first = await announce(connect(), presenceKey, 'host:1', 60_000);
      const second = await announce(connect(), presenceKey, 'host:1', 60_000);
      assert.equal(await link.workers.count(), 2);
      await first.leave();
      assert.equal(await link.workers.count(), 1, 'the other is still alive');
      await second.leave();
      assert.equal(await link.workers.count(), 0);
    } finally {
      await link.release();
    }
  });
});
