import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  AbortError,
  configure,
  JobLostError,
  NoWorkerError,
  NotServedError,
  PoolClosedError,
  ProcessCrashedError,
  SerializationError,
  RunInProcessError,
  shutdown,
  stats,
  TimeoutError,
  TransportUnavailableError,
  warmUp,
  withCallOptions,
  WorkerLostError,
} from 'run-in-process';
import { Redis } from 'ioredis';
import { bullmq } from 'run-in-process/bullmq';
import { fixtureUrl, scratchFile, waitFor } from '../helpers/fixtures.js';
import { internal } from '../helpers/internal.js';
import { redisServerAvailable, type RedisServer, startRedis } from '../helpers/redis.js';
import { nodeOfLine, type RemoteApp, remoteApp, type StartedWorker } from '../helpers/remote-app.js';
import { rejectionOf } from '../helpers/rejection.js';
import { runScript } from '../helpers/scripts.js';
import { assertSameAsLocal } from '../helpers/same-as-local.js';

// The BullMQ transport, on a real redis-server started here, with workers started from a packed
// copy of an app at another path, as on another machine.

type ValuesModule = typeof import('../fixtures/src/values.js');
type ErrorsModule = typeof import('../fixtures/src/errors.js');
type RemoteModule = typeof import('../fixtures/src/remote.js');
type NamedModule = typeof import('../fixtures/src/remote-named.js');
type EnvelopeModule = typeof import('../../build/lib/remote/envelope.js');
type PortableModule = typeof import('../../build/lib/remote/portable.js');

/** The transport every caller here uses, with the same build as the workers. */
function transport(socket: string, more: Parameters<typeof bullmq>[0] | object = {}) {
  return bullmq({
    connection: { path: socket },
    buildId: 'test',
    lockDuration: 1_000,
    stalledInterval: 1_000,
    ...more,
  });
}

/** The parent of a live process, from /proc. */
const parentPid = (pid: number): number =>
  Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

const lines = (file: string): string[] => readFileSync(file, 'utf8').trim().split('\n');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const skip = redisServerAvailable() ? false : 'redis-server is not installed (apt-get install redis-server)';

/**
 * One packed app for both suites. (A second app, imported after a redis-server's folder was removed,
 * was loaded by Node 20 through its node_modules link instead of the link's real path: a second copy
 * of the library, with pools of its own.)
 */
let sharedApp: RemoteApp | undefined;
const theApp = (): RemoteApp => (sharedApp ??= remoteApp());
after(() => sharedApp?.remove());

describe('a pool whose calls run on remote workers, through BullMQ', { skip }, () => {
  let redis: RedisServer;
  let app: RemoteApp;
  let worker: StartedWorker | undefined;
  let values: ValuesModule;
  let errors: ErrorsModule;
  let remote: RemoteModule;

  before(async () => {
    redis = await startRedis();
    app = theApp();
    worker = await app.startWorker({ redis: redis.socket });
    configure({ transport: transport(redis.socket) });
    values = (await import(app.callerModule('values'))) as ValuesModule;
    errors = (await import(app.callerModule('errors'))) as ErrorsModule;
    remote = (await import(app.callerModule('remote'))) as RemoteModule;
  });

  after(async () => {
    await shutdown();
    await worker?.stop();
    await redis?.stop();
  });

  /**
   * Runs `calls` with the default pool's calls going to the queue of another build (the fixtures'
   * targets are all in the default pool; a build is a queue of its own), then back to the workers'.
   */
  async function onBuild<T>(build: string, more: object, calls: () => Promise<T>): Promise<T> {
    configure({ transport: transport(redis.socket, { buildId: build, ...more }) });
    try {
      return await calls();
    } finally {
      configure({ transport: transport(redis.socket) });
    }
  }

  async function valuesCrossIntact(): Promise<void> {
    const circular: { name: string; self?: unknown } = { name: 'loop' };
    circular.self = circular;
    const sent = {
      big: 2n ** 70n,
      missing: undefined,
      nan: NaN,
      negativeZero: -0,
      // biome-ignore lint/suspicious/noSparseArray: a hole is what this checks.
      holes: [1, , 3],
      date: new Date('2026-01-02T03:04:05.006Z'),
      pattern: /a+b/giu,
      map: new Map<unknown, unknown>([
        [1, 'one'],
        ['nested', new Map([[2n, new Set([1])]])],
      ]),
      set: new Set(['a', 'b']),
      floats: new Float64Array([1.5, -2.25]),
      arrayBuffer: new Uint8Array([9, 8, 7]).buffer,
      buffer: Buffer.from('héllo'),
      circular,
      loneSurrogate: '\ud800',
      loneSurrogateKeys: { '\ud800': 'a', '\udbff': 'b' },
      loneSurrogateMap: new Map([
        ['\ud800', 'a'],
        ['\ud801', 'b'],
      ]),
      // biome-ignore lint/suspicious/noSparseArray: a hole beside a named property is what this checks.
      namedAndHoles: Object.assign([1, , 3], { x: 1 }),
      boxed: [new String('s'), new Number(1), new Boolean(false), Object(1n)],
    };
    const back = await values.Values.echo(sent);
    assert.equal(back.big, 2n ** 70n);
    assert.ok('missing' in back && back.missing === undefined);
    assert.ok(Number.isNaN(back.nan));
    assert.ok(Object.is(back.negativeZero, -0), '-0 stays -0');
    assert.deepEqual(Object.keys(back.holes), ['0', '2'], 'a hole stays a hole');
    assert.deepEqual(back.date, sent.date);
    assert.ok(back.pattern instanceof RegExp && back.pattern.flags === 'giu');
    assert.deepEqual(back.map, sent.map);
    assert.deepEqual(back.set, sent.set);
    assert.ok(back.floats instanceof Float64Array && back.floats[1] === -2.25);
    assert.deepEqual([...new Uint8Array(back.arrayBuffer)], [9, 8, 7]);
    assert.ok(Buffer.isBuffer(back.buffer) && back.buffer.toString() === 'héllo');
    assert.equal(back.circular.self, back.circular);
    assert.equal(back.loneSurrogate, '\ud800', 'a lone surrogate stays one');
    assert.deepEqual(Object.keys(back.loneSurrogateKeys), ['\ud800', '\udbff']);
    assert.deepEqual([...back.loneSurrogateMap.keys()], ['\ud800', '\ud801']);
    assert.deepEqual(Object.keys(back.namedAndHoles), ['0', '2', 'x'], 'a hole and a named property both stay');
    assert.deepStrictEqual(back.boxed, structuredClone(sent.boxed), 'boxed primitives stay boxed');
    assert.equal(await values.Values.describe(Buffer.from('x')), '[object Uint8Array] Buffer');
  }

  async function errorsComeBackAsLocal(): Promise<void> {
    for (const kind of errors.sameAsLocalKinds) {
      const thrown = await rejectionOf(errors.Thrower.throwKind(kind));
      assertSameAsLocal(thrown, errors.failure(kind), undefined, kind);
    }
  }

  test(
    'values cross to the worker and back keeping their types: -0, holes, lone surrogates, boxed primitives',
    valuesCrossIntact,
  );

  test('errors come back as a local call throws them: class, own properties, cause chains', errorsComeBackAsLocal);

  test('a worker on another Node major answers the same: the codec does not depend on the Node line', async () => {
    const line = Number(process.versions.node.split('.')[0]) === 22 ? 24 : 22;
    await worker?.stop();
    worker = await app.startWorker({ redis: redis.socket, node: nodeOfLine(line) });
    await valuesCrossIntact();
    await errorsComeBackAsLocal();
  });

  test('what cannot cross is refused before anything is sent; a result that cannot come back is a SerializationError', async () => {
    const echo = values.Values.echo as (...args: unknown[]) => Promise<unknown>;
    const refusals: Array<[unknown[], string]> = [
      [[1, { onProgress: () => {} }], 'args[1].onProgress'],
      [[{ tag: Symbol('x') }], 'args[0].tag'],
      [[new Map([['key', { fn: Math.max }]])], 'args[0].get("key").fn'],
    ];
    for (const [args, path] of refusals)
      assert.equal((await rejectionOf(echo(...args), SerializationError)).path, path);
    assert.equal((await rejectionOf(values.Values.unsendable(), SerializationError)).path, 'result.handle');
    assert.ok((await values.Values.pid()) > 0, 'the worker serves on');
  });

  test("the v8 codec, opt-in: answered as faithfully by a worker on the caller's Node major, refused by one on another", async () => {
    const ownLine = Number(process.versions.node.split('.')[0]);
    const otherLine = ownLine === 22 ? 24 : 22;
    const same = await app.startWorker({ redis: redis.socket, build: 'v8' });
    const other = await app.startWorker({ redis: redis.socket, build: 'v8-other', node: nodeOfLine(otherLine) });
    try {
      await onBuild('v8', { codec: 'v8' }, async () => {
        await valuesCrossIntact();
        await errorsComeBackAsLocal();
      });
      const refused = await onBuild('v8-other', { codec: 'v8' }, () =>
        rejectionOf(values.Values.pid(), RunInProcessError),
      );
      assert.match(
        refused.message,
        new RegExp(
          `encoded with the v8 codec of Node ${ownLine}, which this side, on Node ${otherLine}, cannot be trusted`,
        ),
      );
    } finally {
      await Promise.all([same.stop(), other.stop()]);
    }
  });

  test('a target no worker serves is NotServedError, naming the nearest ids it serves', async () => {
    // The same class from the library's own fixture build: its key names another package.
    const { Values } = (await import(fixtureUrl('standard', 'values'))) as ValuesModule;
    const error = await rejectionOf(Values.pid(), NotServedError);
    assert.equal(error.target, 'run-in-process:build/fixtures/standard/values.js#Values.pid');
    assert.ok(error.nearest.includes('rip-remote-app:dist/values.js#Values.pid'), error.message);
    // Not "no worker": another worker of the queue may serve it, which the workers must not differ in.
    assert.match(
      error.message,
      /^The worker that took this call .* every worker of a queue \(one pool, one build\) must serve the same modules/,
    );
  });

  test('a crash of the remote child is ProcessCrashedError with the host and its stderr; the worker serves on', async () => {
    const crash = await rejectionOf(remote.die(), ProcessCrashedError);
    assert.equal(crash.signal, 'SIGKILL');
    assert.equal((crash as ProcessCrashedError & { host?: string }).host, hostname());
    assert.match(crash.stderr, /dying on purpose/);
    // Where it ran is said in the first line, not inside the stderr lines quoted after it.
    assert.match(crash.message.split('\n')[0]!, /crashed: .* \(It ran on the remote worker [^)]+\.\)$/);
    assert.doesNotMatch(crash.message.split('\n').slice(1).join('\n'), /It ran on the remote worker/);
    const marker = scratchFile('after-crash');
    assert.ok((await remote.noteRun(marker, 0)) > 0);
  });

  test("SIGUSR1 opens no inspector in a worker: any process of its user may send it, and the inspector would hold the worker's rights and secret", async () => {
    process.kill(worker!.pid, 'SIGUSR1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.doesNotMatch(worker!.output(), /Debugger listening/);
    assert.equal(worker!.process.exitCode, null);
    assert.ok((await remote.noteRun(scratchFile('after-sigusr1'), 0)) > 0);
  });

  test('with retries, a call whose child crashed on the worker runs again, as locally; without, it is ProcessCrashedError', async () => {
    const marker = scratchFile('crash-once');
    assert.ok((await withCallOptions({ retries: 1 }, () => remote.crashOnce(marker))) > 0);
    await rejectionOf(remote.crashOnce(scratchFile('crash-once-no-retries')), ProcessCrashedError);
  });

  test('a timeout is enforced by the worker, which kills its child, and comes back with the host', async () => {
    const timeout = await rejectionOf(
      withCallOptions({ timeout: 300 }, () => remote.spin()),
      TimeoutError,
    );
    assert.equal((timeout as TimeoutError & { host?: string }).host, hostname());
    assert.equal(timeout.timeout, 300);
  });

  test("stats() counts a crash and a timeout on the worker's machine as such, and the library's own error class thrown by the code as completed", async () => {
    const before = stats();
    await rejectionOf(remote.die(), ProcessCrashedError);
    await rejectionOf(
      withCallOptions({ timeout: 300 }, () => remote.spin()),
      TimeoutError,
    );
    // Thrown by the code itself: an answer, whatever its class.
    await rejectionOf(errors.Thrower.throwKind('library-timeout'), TimeoutError);
    const after = stats();
    assert.deepEqual(
      {
        completed: after.completed - before.completed,
        failed: after.failed - before.failed,
        crashed: after.crashed - before.crashed,
        timedOut: after.timedOut - before.timedOut,
      },
      { completed: 1, failed: 2, crashed: 1, timedOut: 1 },
    );
  });

  test('an abort stops a running call on the worker: its marker stops growing', async () => {
    const marker = scratchFile('ticking');
    const controller = new AbortController();
    const running = withCallOptions({ signal: controller.signal }, () => remote.tick(marker));
    assert.ok(
      (await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').length >= 3, 10_000)) !== undefined,
    );
    const client = new Redis({ path: redis.socket });
    try {
      // Job hashes (`bull:<queue>:<id>`, ids made by the caller), not their sub-keys.
      const jobs = async () =>
        (await client.keys('bull:default@test:*')).filter((key) => /^bull:default@test:\d+\.[^:]*$/.test(key)).length;
      const held = await jobs();
      controller.abort();
      await rejectionOf(running, AbortError);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const stopped = readFileSync(marker, 'utf8').length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(readFileSync(marker, 'utf8').length, stopped, 'the call stopped on the worker');
      // Its worker finished the job with the stop's answer: the live caller deleted it, data and all.
      let left = held;
      for (const until = Date.now() + 5_000; left >= held && Date.now() < until; await sleep(100)) left = await jobs();
      assert.ok(left < held, `the stopped job is still in Redis (${left} jobs, ${held} while it ran)`);
    } finally {
      client.disconnect();
    }
  });

  test('a call aborted while its job is being sent is never run by a worker', async () => {
    const markers = Array.from({ length: 5 }, () => scratchFile('aborted-while-sent'));
    for (const marker of markers) {
      const controller = new AbortController();
      const call = withCallOptions({ signal: controller.signal }, () => remote.noteRun(marker, 0));
      queueMicrotask(() => controller.abort()); // while the job is on its way to Redis
      await rejectionOf(call, AbortError);
    }
    assert.ok((await remote.noteRun(scratchFile('after-aborts'), 0)) > 0, 'the pool serves on');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(
      markers.filter((marker) => existsSync(marker)),
      [],
      'no aborted call ran',
    );
  });

  test('a worker killed mid-call is WorkerLostError, and the call is not run again', async () => {
    const marker = scratchFile('once');
    const running = remote.noteRun(marker, 60_000);
    assert.ok((await waitFor(() => existsSync(marker), 10_000)) !== undefined);
    worker!.process.kill('SIGKILL');
    const spare = await app.startWorker({ redis: redis.socket }); // Stall detection runs in live workers.
    worker = spare;
    const lost = await rejectionOf(running, WorkerLostError);
    assert.equal(lost.code, 'ERR_WORKER_LOST');
    assert.equal(lost.mayHaveRun, true);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(readFileSync(marker, 'utf8').trim().split('\n').length, 1, 'it ran exactly once');
  });

  test("a large answer is stored apart, not in the queue's events stream that every caller reads, also when its caller is gone", async () => {
    // A caller that exits before its answer comes never discards it: what it leaves in Redis is looked at.
    const run = runScript(
      `const { configure } = await import('run-in-process');
       const { bullmq } = await import('run-in-process/bullmq');
       configure({ transport: bullmq({ connection: { path: ${JSON.stringify(redis.socket)} }, buildId: 'test' }) });
       const { sized } = await import(${JSON.stringify(app.callerModule('remote'))});
       sized(1_000_000, 500).catch(() => {});
       await new Promise((resolve) => setTimeout(resolve, 200));
       process.exit(0);`,
    );
    assert.equal(run.status, 0, run.report);
    const client = new Redis({ path: redis.socket });
    try {
      const events = 'bull:default@test:events';
      let apart: string | undefined;
      for (const until = Date.now() + 5_000; apart === undefined && Date.now() < until; await sleep(100)) {
        for (const [, fields] of await client.xrange(events, '-', '+')) {
          const entry = new Map<string, string>();
          for (let i = 0; i + 1 < fields.length; i += 2) entry.set(fields[i]!, fields[i + 1]!);
          if (entry.get('event') === 'completed' && entry.get('returnvalue')?.includes('answer-apart'))
            apart = entry.get('jobId');
        }
      }
      assert.ok(apart !== undefined, 'the abandoned job finished, its answer marked as stored apart');
      const largest = Math.max(
        ...(await client.xrange(events, '-', '+')).map(([, fields]) =>
          Math.max(...fields.map((field) => field.length)),
        ),
      );
      assert.ok(largest < 20_000, `an entry of the events stream holds ${largest} bytes`);
      const key = `bull:default@test:${apart}:run-in-process:answer`;
      assert.ok((await client.strlen(key)) > 1_000_000, 'the answer is stored apart');
      assert.ok((await client.ttl(key)) > 0, 'and expires');
    } finally {
      client.disconnect();
    }
  });

  test("a job that waited in the queue past its caller's life is dropped unrun; a live caller's runs, however long it waited", async () => {
    // One child, one job at a time: the second job of each caller waits behind a 5.5 s call, past the
    // 5 s after which a worker asks whether a job's caller is alive.
    const busy = await app.startWorker({
      redis: redis.socket,
      build: 'gone',
      args: ['--size', '1', '--concurrency', '1'],
    });
    try {
      // A caller that dies with a job still waiting: a worker of its build would run it for nobody
      // (days later, after a rollback brought such workers back).
      const [first, left] = [scratchFile('gone-first'), scratchFile('gone-left')];
      const run = runScript(
        `const { configure } = await import('run-in-process');
         const { bullmq } = await import('run-in-process/bullmq');
         configure({ transport: bullmq({ connection: { path: ${JSON.stringify(redis.socket)} }, buildId: 'gone', callerGoneAfter: 1_000 }) });
         const { noteRun } = await import(${JSON.stringify(app.callerModule('remote'))});
         noteRun(${JSON.stringify(first)}, 5_500).catch(() => {});
         await new Promise((resolve) => setTimeout(resolve, 300));
         noteRun(${JSON.stringify(left)}, 0).catch(() => {});
         await new Promise((resolve) => setTimeout(resolve, 500));
         process.kill(process.pid, 'SIGKILL');`,
      );
      assert.equal(run.signal, 'SIGKILL', run.report);
      assert.notEqual(
        await waitFor(() => /RUN_IN_PROCESS_CALLER_GONE/.test(busy.output()), 15_000),
        undefined,
        busy.output(),
      );
      assert.match(
        busy.output(),
        /dropped job \S+ unrun: it waited \d+ s in the queue, and its caller has not said it is alive/,
      );
      assert.equal(existsSync(first), true, 'the call the worker held ran');
      assert.equal(existsSync(left), false, 'the job left waiting did not run');
      // A caller alive all along: its job runs, though it waited as long.
      const [held, waited] = [scratchFile('alive-held'), scratchFile('alive-waited')];
      await onBuild('gone', { callerGoneAfter: 1_000 }, async () => {
        const holding = remote.noteRun(held, 5_500);
        await sleep(300);
        assert.equal(typeof (await remote.noteRun(waited, 0)), 'number');
        await holding;
      });
      assert.equal(lines(waited).length, 1, 'it ran once');
    } finally {
      await busy.stop();
    }
  });

  test('a worker that joins workers of its queue serving other targets says so as it starts: calls would fail at random', async () => {
    const first = await app.startWorker({ redis: redis.socket, build: 'mixed' });
    const same = await app.startWorker({ redis: redis.socket, build: 'mixed' });
    const fewer = await app.startWorker({ redis: redis.socket, build: 'mixed', modules: ['values'] });
    try {
      assert.doesNotMatch(same.output(), /RUN_IN_PROCESS_MIXED_WORKERS/, 'the same targets: nothing to say');
      assert.match(
        fewer.output(),
        /RUN_IN_PROCESS_MIXED_WORKERS.*serves other targets than 2 live worker\(s\) of queue default@mixed: .* fail at random with NotServedError\. Give a build with other modules a build id of its own/s,
      );
    } finally {
      await Promise.all([first.stop(), same.stop(), fewer.stop()]);
    }
  });

  test('a streaming method fails at its first next(), naming the limit, and counts as failed', async () => {
    const failedBefore = stats().failed;
    const error = await rejectionOf(remote.countTo(3).next(), RunInProcessError);
    assert.match(error.message, /countTo streams its results .* cannot relay/);
    assert.equal(stats().failed, failedBefore + 1);
    // The worker does not count it among what it serves, and says why.
    assert.match(
      worker!.output(),
      /run-in-process worker: countTo streams its results or takes callbacks, .*not served/,
    );
  });

  test("an idle caller's process exits by itself, without shutdown()", () => {
    const run = runScript(
      `const { configure } = await import('run-in-process');
       const { bullmq } = await import('run-in-process/bullmq');
       configure({ transport: bullmq({ connection: { path: ${JSON.stringify(redis.socket)} }, buildId: 'test' }) });
       const { Values } = await import(${JSON.stringify(app.callerModule('values'))});
       console.log('answered by', await Values.pid());`,
      { timeout: 20_000 },
    );
    assert.equal(run.status, 0, run.report);
    assert.match(run.stdout, /^answered by \d+$/m, run.report);
  });

  test('an id names a target between machines for a module in no package; a class id names its methods', async () => {
    const named = app.unpackaged('remote-named');
    const extra = await app.startWorker({ redis: redis.socket, build: 'named', modules: [named.worker] });
    try {
      const { shout, Counter, Shapes } = (await import(named.caller)) as NamedModule;
      await onBuild('named', {}, async () => {
        assert.equal(await shout('hi'), 'HI!');
        assert.equal(await Counter.twice(21), 42);
        assert.equal(await Counter.thrice(5), 15);
        // A static and an instance method of one name have keys of their own.
        assert.equal(await Shapes.area(2), 4);
        assert.equal(await new Shapes().area(), 90);
      });
      // A job written by hand, for a served target, whose input decodes but is not `{ this?, args: [...] }`:
      // refused unrun (stage 'send'), not run with no arguments or with its code failing on them.
      const { sealJob } = await internal<EnvelopeModule>('remote/envelope.js');
      const { packPortable, portableCodec } = await internal<PortableModule>('remote/portable.js');
      const { Queue, QueueEvents } = await import('bullmq');
      const { openAnswers } = await internal<EnvelopeModule>('remote/envelope.js');
      const queue = new Queue('default@named', { connection: { path: redis.socket } });
      const events = new QueueEvents('default@named', { connection: { path: redis.socket } });
      try {
        await events.waitUntilReady();
        for (const [n, input] of [{ args: 5 }, 42, null, { this: 1, args: [] }].entries()) {
          const jobId = `hand-written-${n}`;
          const part = { key: 'plugins/Counter.twice', input: packPortable(input).toString('base64'), label: 'twice' };
          const job = await queue.add('call', sealJob([part], jobId, undefined, portableCodec), { jobId });
          const [answer] = openAnswers(await job.waitUntilFinished(events, 10_000), jobId, undefined, 1).answers;
          assert.deepEqual([answer?.[0], answer?.[2]], ['thrown', 'send'], `input ${JSON.stringify(input)}`);
        }
      } finally {
        await events.close();
        await queue.close();
      }
    } finally {
      await extra.stop();
    }
  });

  test('a module in no package and with no id is refused for a remote pool when it is defined, saying how to fix it', () => {
    const unnamed = app.unpackaged('remote-unnamed').caller;
    const run = runScript(
      `const { configure } = await import('run-in-process');
       const { bullmq } = await import('run-in-process/bullmq');
       const remote = () => bullmq({ connection: { path: ${JSON.stringify(redis.socket)} }, buildId: 'test' });
       configure({ transport: remote() });
       const error = await import(${JSON.stringify(unnamed)}).then(() => undefined, (e) => e);
       console.log('at import:', error?.name, error?.code, error?.message);
       configure({});
       await import(${JSON.stringify(`${unnamed}?local`)});
       try {
         configure({ transport: remote() });
         console.log('configure: accepted');
       } catch (e) {
         console.log('at configure:', e.name, e.code, e.message);
       }`,
      { timeout: 20_000 },
    );
    assert.equal(run.status, 0, run.report);
    assert.match(
      run.stdout,
      /^at import: TypeError ERR_INVALID_USAGE anonymous cannot run in the remote pool "default": its module .* is in no package .* give the method, its class or the wrapped function an id/m,
      run.report,
    );
    assert.match(
      run.stdout,
      /^at configure: TypeError ERR_INVALID_USAGE anonymous cannot run in the remote pool "default"/m,
      run.report,
    );
  });

  test('a build no live worker takes is NoWorkerError at once, naming the builds that are served', async () => {
    const startedAt = Date.now();
    const none = await onBuild('v2', {}, async () => {
      const before = stats();
      const error = await rejectionOf(remote.noteRun(scratchFile('never'), 0), NoWorkerError);
      const after = stats();
      // The transport's own error, not the code's: a failure in stats(), not a completed call.
      assert.deepEqual(
        { completed: after.completed - before.completed, failed: after.failed - before.failed },
        { completed: 0, failed: 1 },
      );
      return error;
    });
    assert.ok(Date.now() - startedAt < 2_000, 'promptly');
    assert.equal(none.code, 'ERR_NO_WORKER');
    assert.equal(none.queue, 'default@v2');
    assert.match(none.message, /no live worker takes the calls of pool default for build v2/);
    assert.match(none.message, /Workers of pool default run other builds \(test\)/);
    assert.equal(existsSync(scratchFile('never')), false);
    // Raised in this process, never in a child: its stack says nothing of one.
    assert.doesNotMatch(none.stack ?? '', /child process above/);
  });

  test('with waitForWorker a call waits for a worker; aborted while it waits, it never runs', async () => {
    const never = scratchFile('aborted-while-queued');
    const ran = scratchFile('ran-once-a-worker-came');
    await onBuild('later', { waitForWorker: true }, async () => {
      const controller = new AbortController();
      const queued = withCallOptions({ signal: controller.signal }, () => remote.noteRun(never, 0));
      await sleep(300);
      controller.abort();
      await rejectionOf(queued, AbortError);
      const waiting = remote.noteRun(ran, 0);
      await sleep(300);
      const extra = await app.startWorker({ redis: redis.socket, build: 'later' });
      try {
        assert.ok((await waiting) > 0);
        await sleep(500);
      } finally {
        await extra.stop();
      }
    });
    assert.equal(existsSync(never), false, 'the aborted call was taken out of the queue before any worker came');
    assert.equal(lines(ran).length, 1);
  });

  test('a call that a worker holds in its own queue times out from its start there, not from when the worker took its job', async () => {
    const extra = await app.startWorker({
      redis: redis.socket,
      build: 'late-start',
      args: ['--size', '1', '--concurrency', '2'],
    });
    try {
      await onBuild('late-start', {}, async () => {
        // The worker takes both jobs at once; its one child runs the first for 4 s, then the second.
        const first = remote.noteRun(scratchFile('holds-the-child'), 4_000);
        await sleep(300);
        const second = withCallOptions({ timeout: 1_000 }, () => remote.noteRun(scratchFile('waits-for-it'), 100));
        assert.ok((await second) > 0, 'the second call ran, within its timeout, once it started');
        assert.ok((await first) > 0);
      });
    } finally {
      await extra.stop();
    }
  });

  test('a worker that shuts down hands back the jobs it holds unrun, which another worker then runs at once', async () => {
    const first = await app.startWorker({
      redis: redis.socket,
      build: 'hand-back',
      args: ['--size', '1', '--concurrency', '2'],
    });
    let second: StartedWorker | undefined;
    try {
      await onBuild('hand-back', {}, async () => {
        const running = remote.servedBy(3_000);
        await sleep(300);
        // Taken by the first worker too (concurrency 2), and held in its pool's queue behind the call that runs.
        const held = remote.servedBy(0);
        await sleep(300);
        second = await app.startWorker({ redis: redis.socket, build: 'hand-back' });
        const stopped = first.stop();
        assert.equal(await held, second.pid, 'the held call ran on the other worker');
        assert.equal(await running, first.pid, 'the running call finished where it ran');
        assert.equal(await stopped, 0);
      });
    } finally {
      await first.stop();
      await second?.stop();
    }
  });

  test('a worker that shuts down does not hand back a job of several calls some of which it has run: each runs once', async () => {
    // A job of several calls goes to the worker's pool a window at a time: one whose first window has
    // run, and whose next waits in the pool behind other jobs' calls, must not go to another worker.
    const leaving = await app.startWorker({
      redis: redis.socket,
      build: 'windows',
      args: ['--size', '1', '--concurrency', '64'],
    });
    let spare: StartedWorker | undefined;
    try {
      await onBuild('windows', {}, async () => {
        const blockers = Array.from({ length: 64 }, () => remote.servedBy(5));
        const markers = Array.from({ length: 40 }, () => scratchFile('window-at-a-time'));
        const settled = Promise.allSettled(markers.map((marker) => remote.noteRun(marker, 150)));
        await Promise.all(blockers);
        const started = () => markers.filter((marker) => existsSync(marker)).length;
        assert.ok((await waitFor(() => started() >= 4, 15_000)) !== undefined, `${started()} calls started`);
        spare = await app.startWorker({ redis: redis.socket, build: 'windows' });
        await leaving.stop();
        const outcomes = await settled;
        const runs = markers.map((marker) => (existsSync(marker) ? lines(marker).length : 0));
        assert.ok(
          runs.every((n) => n === 1),
          `each call runs once: ${runs.join(' ')}; ${outcomes.filter((o) => o.status === 'rejected').length} failed`,
        );
        assert.ok(outcomes.every((outcome) => outcome.status === 'fulfilled'));
      });
    } finally {
      await leaving.stop();
      await spare?.stop();
    }
  });

  test('the last worker to shut down hands nothing back: it runs the jobs it holds, within their timeouts', async () => {
    const only = await app.startWorker({
      redis: redis.socket,
      build: 'hand-back',
      args: ['--size', '1', '--concurrency', '2'],
    });
    try {
      await onBuild('hand-back', {}, async () => {
        const running = remote.servedBy(1_500);
        await sleep(300);
        const held = withCallOptions({ timeout: 1_000 }, () => remote.servedBy(0));
        await sleep(300);
        const stopped = only.stop();
        assert.equal(await held, only.pid, 'the held call ran where it was held');
        assert.equal(await running, only.pid);
        assert.equal(await stopped, 0);
      });
    } finally {
      await only.stop();
    }
  });

  test('a job handed back as its worker shuts down, and aborted by its caller then, is never run by another worker', async () => {
    const first = await app.startWorker({
      redis: redis.socket,
      build: 'hand-back',
      args: ['--size', '1', '--concurrency', '2'],
    });
    let second: StartedWorker | undefined;
    const never = scratchFile('handed-back-then-aborted');
    try {
      await onBuild('hand-back', {}, async () => {
        const running = remote.servedBy(2_000);
        await sleep(300);
        const controller = new AbortController();
        const held = withCallOptions({ signal: controller.signal }, () => remote.noteRun(never, 0));
        await sleep(300);
        const stopped = first.stop();
        await sleep(3); // as it hands the job back
        controller.abort();
        await rejectionOf(held, AbortError);
        second = await app.startWorker({ redis: redis.socket, build: 'hand-back' });
        assert.equal(await running, first.pid);
        await stopped;
        await sleep(1_000);
      });
    } finally {
      await first.stop();
      await second?.stop();
    }
    assert.equal(existsSync(never), false, 'the aborted call never ran');
  });

  test('a call whose job waits in the queue when the last worker leaves is NoWorkerError that says it was not run', async () => {
    const first = scratchFile('ran-while-the-worker-left');
    const queued = scratchFile('waited-while-the-worker-left');
    const leaving = await app.startWorker({
      redis: redis.socket,
      build: 'leaving',
      args: ['--concurrency', '1', '--size', '1'],
    });
    const error = await onBuild('leaving', {}, async () => {
      const running = remote.noteRun(first, 1_000);
      assert.ok((await waitFor(() => existsSync(first), 10_000)) !== undefined);
      const waiting = rejectionOf(remote.noteRun(queued, 0), NoWorkerError);
      await sleep(200); // Its job waits behind the running one, which the worker finishes as it leaves.
      const stopped = leaving.stop();
      assert.ok((await running) > 0);
      await stopped;
      return waiting;
    });
    assert.match(
      error.message,
      /^noteRun was not run: its job waited in the queue, and no live worker of pool default for build leaving is left to take it \(queue default@leaving\); the job was removed\. /,
    );
    assert.equal(existsSync(queued), false);
  });

  test('a flood of calls: those beyond the jobs out at once go several to a job, each answered as its own; no job is left in Redis', async () => {
    const cli = (...args: string[]) =>
      execFileSync('redis-cli', ['-s', redis.socket, ...args], { encoding: 'utf8' }).trim();
    // BullMQ counts the jobs added to a queue, whatever their ids.
    const added = () => Number(cli('GET', 'bull:default@test:id'));
    const kept = () => Number(cli('ZCARD', 'bull:default@test:completed'));
    // The events stream's 'completed' entries carry each answer again.
    const answersInStream = () =>
      cli('XRANGE', 'bull:default@test:events', '-', '+')
        .split('\n')
        .filter((line) => line === 'completed').length;
    const [addedBefore, keptBefore, streamedBefore] = [added(), kept(), answersInStream()];
    const sent = Array.from({ length: 400 }, (_, i) => ({ i, text: `call ${i}` }));
    const back = await Promise.all(sent.map((value) => values.Values.echo(value)));
    assert.deepEqual(back, sent);
    const jobs = added() - addedBefore;
    assert.ok(jobs < 400 && jobs >= 64, `400 calls in ${jobs} jobs`);
    // Each job is deleted once its caller has the answer: its data and answer do not stay in Redis.
    assert.ok((await waitFor(() => kept() <= keptBefore, 5_000)) !== undefined, `${kept() - keptBefore} jobs kept`);
    assert.ok(
      (await waitFor(() => answersInStream() <= streamedBefore, 5_000)) !== undefined,
      `${answersInStream() - streamedBefore} answers kept in the events stream`,
    );
  });

  test('two workers share the load', async () => {
    const second = await app.startWorker({ redis: redis.socket });
    try {
      const servers = await Promise.all(Array.from({ length: 12 }, () => remote.servedBy(200)));
      assert.deepEqual(new Set(servers), new Set([worker!.pid, second.pid]));
    } finally {
      await second.stop();
    }
  });

  test('with retries, a call whose worker is killed mid-call runs again on another worker and succeeds', async () => {
    const second = await app.startWorker({ redis: redis.socket });
    const marker = scratchFile('retried');
    const running = withCallOptions({ retries: 1 }, () => remote.noteRun(marker, 2_000));
    assert.ok((await waitFor(() => existsSync(marker), 10_000)) !== undefined);
    const first = Number(lines(marker)[0]);
    // The worker holding the call is the parent of the child that wrote the marker.
    const holder = [worker!, second].find((w) => parentPid(first) === w.pid)!;
    const spare = holder === worker ? second : worker!;
    holder.process.kill('SIGKILL');
    worker = spare;
    // Which worker a failure names tells a lost first attempt that was not retried from a lost retry
    // (seen once in CI, not reproduced: if it comes back, this says which).
    const ran = await running.catch((error: Error) => {
      throw new Error(`${error.message} [killed worker ${holder.pid}, spare ${spare.pid}, runs ${lines(marker)}]`, {
        cause: error,
      });
    });
    assert.ok(ran > 0);
    assert.equal(lines(marker).length, 2, 'it ran twice: the lost attempt and the retry');
  });

  test('with two workers, WorkerLostError names the worker killed holding the call, not the one that failed the stalled job; the call is not run again', async () => {
    const second = await app.startWorker({ redis: redis.socket });
    const marker = scratchFile('lost-among-two');
    const running = remote.noteRun(marker, 60_000);
    assert.ok((await waitFor(() => existsSync(marker), 10_000)) !== undefined);
    const holder = [worker!, second].find((w) => parentPid(Number(lines(marker)[0])) === w.pid)!;
    const spare = holder === worker ? second : worker!;
    holder.process.kill('SIGKILL');
    worker = spare;
    // The spare's stall check finds the job, and the spare takes it to fail it (BullMQ then records
    // the spare as the job's processedBy).
    const lost = await rejectionOf(running, WorkerLostError);
    const lostName = `${hostname()}:${holder.pid}`;
    assert.equal(lost.worker, lostName);
    assert.ok(lost.message.includes(`The remote worker ${lostName} running noteRun`), lost.message);
    await sleep(1_500);
    assert.equal(lines(marker).length, 1, 'it ran once: the spare failed the job without running it');
  });

  test('a worker lost holding a job of several calls: only those it had handed to its children fail; the others run once, on another worker', async () => {
    // Calls beyond the 64 jobs out at once go several to a job: 64 quick calls hold the jobs out,
    // the 24 slow ones made with them wait, and go together once the first of those ends. On fresh
    // workers, which go a few calls of a target they have not run yet at a time.
    const args = ['--size', '2', '--concurrency', '64'];
    const workers = [
      await app.startWorker({ redis: redis.socket, build: 'several', args }),
      await app.startWorker({ redis: redis.socket, build: 'several', args }),
    ];
    try {
      await onBuild('several', {}, async () => {
        // Another target: a worker sizes a job's first window by how its targets' calls went before.
        const blockers = Array.from({ length: 64 }, () => remote.servedBy(20));
        const markers = Array.from({ length: 24 }, () => scratchFile('one-of-several'));
        const settled = Promise.allSettled(markers.map((marker) => remote.noteRun(marker, 400)));
        await Promise.all(blockers);
        const started = () => markers.find((marker) => existsSync(marker));
        assert.ok(
          (await waitFor(() => started() !== undefined, 10_000)) !== undefined,
          'none of the slow calls started',
        );
        const first = started()!;
        const holder = workers.find((w) => w.pid === parentPid(Number(lines(first)[0])))!;
        holder.process.kill('SIGKILL');
        const outcomes = await settled;
        const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as Error] : []));
        for (const error of lost) assert.ok(error instanceof WorkerLostError, String(error));
        // The call seen running was lost with its job, which carried more calls than were lost with
        // it: the others were sent again. A window is twice the worker's pool size (2) while the calls
        // are slow: those running and the next. (Another job the worker had just taken, before its
        // first count reached Redis, loses all its calls: every one may have run, as far as its caller
        // can tell.)
        const running = outcomes[markers.indexOf(first)]!;
        assert.equal(running.status, 'rejected', 'the call seen running was lost');
        const jobId = ((running as PromiseRejectedResult).reason as WorkerLostError).jobId;
        const client = new Redis({ path: redis.socket });
        try {
          const data = (await client.hget(`bull:default@several:${jobId}`, 'data')) ?? '{}';
          const carried = (JSON.parse(data) as { calls?: unknown[] }).calls?.length ?? 0;
          const lostWith = lost.filter((error) => (error as WorkerLostError).jobId === jobId).length;
          assert.ok(lostWith <= 6 && lostWith < carried, `${lostWith} of job ${jobId}'s ${carried} calls lost`);
        } finally {
          client.disconnect();
        }
        markers.forEach((marker, index) => {
          const runs = existsSync(marker) ? lines(marker).length : 0;
          const outcome = outcomes[index]!;
          if (outcome.status === 'fulfilled') assert.equal(runs, 1, `call ${index} ran ${runs} times`);
          else assert.ok(runs <= 1, `call ${index}, lost, ran ${runs} times`);
        });
        await sleep(1_000);
        const runs = markers.map((marker) => (existsSync(marker) ? lines(marker).length : 0));
        assert.ok(
          runs.every((n) => n <= 1),
          `a call ran twice: ${runs.join(' ')}`,
        );
      });
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  });

  test('when the last worker is lost, the caller notices by itself: WorkerLostError names the worker and the job', async () => {
    const marker = scratchFile('last-worker');
    const running = remote.noteRun(marker, 60_000);
    assert.ok((await waitFor(() => existsSync(marker), 10_000)) !== undefined);
    const lostWorker = worker!;
    lostWorker.process.kill('SIGKILL');
    const startedAt = Date.now();
    const lost = await rejectionOf(running, WorkerLostError);
    assert.equal(lost.worker, `${hostname()}:${lostWorker.pid}`);
    assert.match(lost.jobId, /^\d+\./);
    assert.ok(Date.now() - startedAt < 15_000, `noticed in ${Date.now() - startedAt} ms`);
    assert.equal(lines(marker).length, 1);
    // No worker of its build is left to find the job stalled (after a deploy, none may come): the
    // caller removes it, its data with it, once the lost worker's hold on it has run out.
    const client = new Redis({ path: redis.socket });
    try {
      const key = `bull:default@test:${lost.jobId}`;
      let left = 1;
      for (const until = Date.now() + 5_000; left > 0 && Date.now() < until; await sleep(100))
        left = await client.exists(key);
      assert.equal(
        left,
        0,
        `job ${lost.jobId} is still in Redis: ${JSON.stringify(await client.hgetall(key)).slice(0, 200)}`,
      );
      assert.equal(await client.lpos('bull:default@test:active', lost.jobId), null);
    } finally {
      client.disconnect();
    }
    worker = await app.startWorker({ redis: redis.socket });
  });

  test('a payload over maxPayloadBytes is SerializationError, and nothing is sent', async () => {
    const error = await onBuild('test', { maxPayloadBytes: 1_024 }, () =>
      rejectionOf(values.Values.echo(Buffer.alloc(4_096)), SerializationError),
    );
    assert.match(error.message, /4\d{3} bytes, over the transport's limit of 1024 \(its maxPayloadBytes option\)/);
  });

  test("arguments over the worker's maxPayloadBytes, from a caller whose limit is higher, are SerializationError naming their size and the worker's limit; the worker serves on", async () => {
    // A limit below the refusal's own size (message and stack): the refusal still reaches the caller.
    const small = await app.startWorker({
      redis: redis.socket,
      build: 'small-args',
      args: ['--max-payload-bytes', '1000'],
    });
    try {
      const error = await onBuild('small-args', {}, () =>
        rejectionOf(values.Values.echo(Buffer.alloc(100_000)), SerializationError),
      );
      assert.equal(error.path, 'args');
      assert.match(
        error.message,
        /^Cannot run Values\.echo\(\) on this remote worker: its arguments take 100\d{3} bytes, over the worker's limit of 1000, which is lower than its caller's\. The call was not run\./,
      );
      assert.match(error.message, /--max-payload-bytes/);
      assert.equal(await onBuild('small-args', {}, () => values.Values.echo('small')), 'small');
    } finally {
      await small.stop();
    }
  });

  test("a result over the worker's maxPayloadBytes is SerializationError, naming its size and the limit; the worker serves on", async () => {
    const small = await app.startWorker({ redis: redis.socket, build: 'small', args: ['--max-payload-bytes', '4096'] });
    try {
      const error = await onBuild('small', {}, () => rejectionOf(remote.sized(100_000), SerializationError));
      assert.equal(error.path, 'result');
      assert.match(
        error.message,
        /Cannot send the result of sized\(\) back from the remote worker: it takes 100\d{3} bytes, over the transport's limit of 4096 \(its maxPayloadBytes option, on the worker/,
      );
      assert.equal((await onBuild('small', {}, () => remote.sized(100))).length, 100);
    } finally {
      await small.stop();
    }
  });

  test('with a shared secret, signed calls are answered; a caller with another secret is refused', async () => {
    const signed = await app.startWorker({
      redis: redis.socket,
      build: 'signed',
      env: { ...process.env, RUN_IN_PROCESS_SECRET: 'right secret' },
    });
    try {
      const answered = await onBuild('signed', { secret: 'right secret' }, () =>
        remote.noteRun(scratchFile('signed'), 0),
      );
      assert.ok(answered > 0);
      const refused = await onBuild('signed', { secret: 'wrong secret' }, () =>
        rejectionOf(remote.noteRun(scratchFile('forged'), 0), RunInProcessError),
      );
      assert.match(
        refused.message,
        /signature does not match the shared secret.*the worker refused the call as well, without running it/s,
      );
      assert.equal(existsSync(scratchFile('forged')), false, 'the forged call did not run');
      // The worker's operator hears of it too, once for a reason (not at each refused job).
      await onBuild('signed', { secret: 'wrong secret' }, () =>
        rejectionOf(remote.noteRun(scratchFile('forged-again'), 0), RunInProcessError),
      );
      const warned = signed.output().match(/RUN_IN_PROCESS_UNREADABLE_JOB/g) ?? [];
      assert.equal(warned.length, 1, signed.output());
      assert.match(
        signed.output(),
        /The worker \S+ \(queue default@signed\) could not read job \S+: a call envelope whose signature does not match the shared secret/,
      );
    } finally {
      await signed.stop();
    }
  });

  test("a worker without the callers' secret refuses their signed calls, unrun; the caller says why", async () => {
    const unsigned = await app.startWorker({ redis: redis.socket, build: 'unsigned' });
    try {
      const marker = scratchFile('signed-to-unsigned');
      const refused = await onBuild('unsigned', { secret: 'a secret' }, () =>
        rejectionOf(remote.noteRun(marker, 0), RunInProcessError),
      );
      assert.match(refused.message, /not signed, while this caller has a secret: its worker runs without one/);
      assert.equal(existsSync(marker), false, 'the signed call did not run');
    } finally {
      await unsigned.stop();
    }
  });

  test("a caller without the workers' secret has its calls refused, unrun, saying it sent them unsigned", async () => {
    const signed = await app.startWorker({
      redis: redis.socket,
      build: 'signed-only',
      env: { ...process.env, RUN_IN_PROCESS_SECRET: 'a secret' },
    });
    try {
      const marker = scratchFile('unsigned-to-signed');
      const refused = await onBuild('signed-only', {}, () => rejectionOf(remote.noteRun(marker, 0), RunInProcessError));
      assert.match(refused.message, /a call envelope that is not signed, while this worker has a secret/);
      assert.equal(existsSync(marker), false, 'the unsigned call did not run');
    } finally {
      await signed.stop();
    }
  });

  test('a worker stopped twice does not wait for a call that never ends: it fails with PoolClosedError, and the worker exits', async () => {
    // One child, two jobs taken: the second call waits in the worker's pool, unstarted.
    const args = ['--size', '1', '--concurrency', '2'];
    const stubborn = await app.startWorker({ redis: redis.socket, build: 'twice', args });
    const exited = once(stubborn.process, 'exit');
    const [error, held] = await onBuild('twice', {}, async () => {
      const running = rejectionOf(remote.spin(), PoolClosedError);
      const waiting = rejectionOf(remote.spin(), PoolClosedError);
      await sleep(1_000); // The first call is running on the worker's child.
      stubborn.process.kill('SIGTERM');
      await sleep(500);
      assert.equal(stubborn.process.exitCode, null, 'the first SIGTERM waits for the call');
      stubborn.process.kill('SIGTERM');
      return Promise.all([running, waiting]);
    });
    assert.match(
      error.message,
      /spin was stopped: its pool was shut down without waiting for its calls \(a deadline of 0\)\. \(It ran on the remote worker /,
    );
    assert.equal(error.mayHaveRun, true);
    assert.equal(held.mayHaveRun, false);
    assert.match(held.message, /\(Not run: the remote worker [^,]+, which held it, shut down\.\)/);
    const [code] = await exited;
    assert.equal(code, 0, stubborn.output());
    assert.match(stubborn.output(), /stopping now; the calls it still runs fail with PoolClosedError/);
  });

  test('with --shutdown-deadline, a first signal (SIGHUP as SIGTERM) fails what still runs past it with PoolClosedError, and the worker exits, saying why', async () => {
    const bounded = await app.startWorker({
      redis: redis.socket,
      build: 'deadline',
      args: ['--shutdown-deadline', '700'],
    });
    const exited = once(bounded.process, 'exit');
    const error = await onBuild('deadline', {}, async () => {
      const running = rejectionOf(remote.spin(), PoolClosedError);
      await sleep(1_000); // The call is running on the worker's child.
      // The hangup of the terminal it was started from: it ended at once, its calls found lost later.
      bounded.process.kill('SIGHUP');
      return running;
    });
    assert.match(error.message, /spin did not finish within the 700 ms shutdown deadline/);
    const [code] = await exited;
    assert.equal(code, 0, bounded.output());
    assert.match(
      bounded.output(),
      /SIGHUP: stopping; it takes no more jobs and finishes the calls it holds \(for 700 ms at most\)/,
    );
  });

  test('with a secret, a forged answer or failure in the events stream is ignored: the call gets its real answer', async () => {
    const signed = await app.startWorker({
      redis: redis.socket,
      build: 'forged',
      env: { ...process.env, RUN_IN_PROCESS_SECRET: 'a secret' },
    });
    const redisCli = (...args: string[]) =>
      execFileSync('redis-cli', ['-s', redis.socket, ...args], { encoding: 'utf8' }).trim();
    try {
      await onBuild('forged', { secret: 'a secret' }, async () => {
        const marker = scratchFile('forged-answer');
        const running = remote.noteRun(marker, 1_000);
        let jobId = '';
        const active = () => (jobId = redisCli('LINDEX', 'bull:default@forged:active', '0')) !== '';
        assert.ok((await waitFor(active, 10_000)) !== undefined, 'the job is taken');
        const forged = { v: 2, codec: 'msgpackr-2', answers: [['value', 'AQ==']], host: 'forger' };
        for (const sig of ['bad', undefined]) {
          const answer = JSON.stringify({ ...forged, ...(sig && { sig }) });
          redisCli(
            'XADD',
            'bull:default@forged:events',
            '*',
            'event',
            'completed',
            'jobId',
            jobId,
            'returnvalue',
            answer,
          );
        }
        // A failure is the queue's word, which a stream entry is not: the job's stored state decides.
        redisCli(
          'XADD',
          'bull:default@forged:events',
          '*',
          'event',
          'failed',
          'jobId',
          jobId,
          'failedReason',
          'run evil.sh',
        );
        assert.equal(await running, Number(lines(marker)[0]), 'the real answer: the pid of the child that ran it');
      });
    } finally {
      await signed.stop();
    }
  });

  test('Redis restarted with persistence while calls run: the calls complete', async () => {
    const markers = [0, 1, 2].map((i) => scratchFile(`persisted-${i}`));
    const running = markers.map((marker) => remote.noteRun(marker, 1_500));
    assert.ok((await waitFor(() => markers.some((m) => existsSync(m)), 10_000)) !== undefined);
    await redis.kill();
    await sleep(200);
    await redis.restart();
    const pids = await Promise.all(running);
    assert.ok(pids.every((pid) => pid > 0));
    for (const marker of markers) assert.equal(lines(marker).length, 1, 'each ran once');
  });

  test('calls with no timeout wait reconnectTimeout for Redis: back within it, they complete; gone for good, each fails with TransportUnavailableError', {
    timeout: 30_000,
  }, async () => {
    // A worker whose hold on a job outlasts the outages here (with the usual 1 s, Redis away for
    // longer has expired its lock, and the job fails as stalled once Redis is back).
    const patient = await app.startWorker({ redis: redis.socket, build: 'grace', args: ['--lock-duration', '10000'] });
    try {
      await onBuild('grace', { reconnectTimeout: 2_000 }, async () => {
        const back = [0, 1].map((i) => scratchFile(`back-within-grace-${i}`));
        const completing = back.map((marker) => remote.noteRun(marker, 1_500));
        assert.ok((await waitFor(() => back.every((m) => existsSync(m)), 10_000)) !== undefined);
        await redis.kill();
        await sleep(1_000);
        await redis.restart();
        assert.ok((await Promise.all(completing)).every((pid) => pid > 0));
        for (const marker of back) assert.equal(lines(marker).length, 1, 'each ran once');
        // Its log does not end on a wait that is over.
        assert.notEqual(
          await waitFor(() => /waiting for Redis[\s\S]*Redis at \S+ answers again\./.test(patient.output()), 5_000),
          undefined,
          patient.output(),
        );

        const gone = [0, 1].map((i) => scratchFile(`redis-gone-${i}`));
        // Long enough to be still running when Redis goes, after the waits below on a loaded machine.
        const waiting = gone.map((marker) => remote.noteRun(marker, 5_000));
        assert.ok((await waitFor(() => gone.every((m) => existsSync(m)), 10_000)) !== undefined);
        // The markers are written by the worker's child; the caller hears that a worker took the job
        // through the queue's event stream, which may come a moment later on a busy machine.
        assert.ok((await waitFor(() => stats().queued === 0, 5_000)) !== undefined, 'the caller saw the jobs taken');
        await redis.kill();
        const killedAt = Date.now();
        const failures = await Promise.all(waiting.map((call) => rejectionOf(call, TransportUnavailableError)));
        const after = Date.now() - killedAt;
        assert.ok(after >= 1_900 && after < 5_000, `failed ${after} ms after Redis went`);
        for (const error of failures) {
          assert.equal(error.mayHaveRun, true);
          assert.ok(
            error.message.startsWith(`Redis at unix:${redis.socket} (queue default@grace) has not answered for `),
          );
          assert.match(
            error.message,
            /\(connect E[A-Z]+ .*\), while job \S+ \(noteRun\) was out: a worker had taken it\./,
          );
          assert.match(error.message, /the call may have run, or may still run once Redis is back/);
          assert.match(error.message, /bullmq\(\{ reconnectTimeout \}\) \(now 2000 ms\)/);
        }
      });
    } finally {
      await redis.restart();
      await patient.stop();
      // Redis was away for longer than the worker's word that it is alive lasts: it says so again.
      const alive = () =>
        Number(
          execFileSync(
            'redis-cli',
            ['-s', redis.socket, 'ZCOUNT', 'bull:default@test:run-in-process:workers', `(${Date.now()}`, '+inf'],
            { encoding: 'utf8' },
          ),
        ) > 0;
      assert.ok((await waitFor(alive, 10_000)) !== undefined, 'the worker is back');
    }
  });

  test('Redis out of memory (maxmemory, noeviction) while a call runs: it fails after reconnectTimeout, saying Redis refuses writes; once memory frees, the pool serves on', async () => {
    const admin = new Redis({ path: redis.socket });
    const patient = await app.startWorker({ redis: redis.socket, build: 'full', args: ['--lock-duration', '10000'] });
    try {
      await onBuild('full', { reconnectTimeout: 1_000 }, async () => {
        const marker = scratchFile('ran-into-a-full-redis');
        const running = remote.noteRun(marker, 3_000);
        assert.ok((await waitFor(() => existsSync(marker), 10_000)) !== undefined);
        assert.ok((await waitFor(() => stats().queued === 0, 5_000)) !== undefined, 'the caller saw the job taken');
        // Redis answers a PING, but refuses every write: BullMQ's, and the one that would store the answer.
        await admin.config('SET', 'maxmemory', '1');
        const fullAt = Date.now();
        const error = await rejectionOf(running, TransportUnavailableError);
        const after = Date.now() - fullAt;
        await admin.config('SET', 'maxmemory', '0');
        assert.ok(
          after >= 900 && after < 2_900,
          `failed ${after} ms after Redis filled up, before the call would have ended`,
        );
        assert.equal(error.mayHaveRun, true);
        assert.match(
          error.message,
          /^Redis at unix:\S+ \(queue default@full\) has refused every write for \d+ ms \(OOM command not allowed/,
        );
        assert.match(error.message, /Check its memory \(maxmemory\)/);
        assert.ok((await remote.noteRun(scratchFile('after-memory-freed'), 0)) > 0, 'the pool serves on');
      });
    } finally {
      await admin.config('SET', 'maxmemory', '0').catch(() => {});
      admin.disconnect();
      await patient.stop();
    }
  });

  test('a call made while its pool closes gets a link of its own, not the one closing', async () => {
    assert.ok((await values.Values.pid()) > 0);
    const closing = shutdown();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.ok((await values.Values.pid()) > 0, 'answered, not TransportUnavailableError');
    await closing;
    assert.ok((await values.Values.pid()) > 0);
  });

  test('an entry in the events stream that BullMQ cannot parse does not leave calls to the 5 s sweep', async () => {
    const redisCli = (...args: string[]) =>
      execFileSync('redis-cli', ['-s', redis.socket, ...args], { encoding: 'utf8' });
    const running = remote.noteRun(scratchFile('during-forgery'), 300);
    redisCli('XADD', 'bull:default@test:events', '*', 'event', 'completed', 'jobId', 'nobody', 'returnvalue', '{oops');
    assert.ok((await running) > 0);
    const startedAt = Date.now();
    for (let i = 0; i < 3; i++) await values.Values.pid();
    assert.ok(Date.now() - startedAt < 3_000, `three calls took ${Date.now() - startedAt} ms`);
  });

  test('two such entries within a second, or a Redis restart, under a call: its answer still comes as soon as it is given, not at the sweep', async () => {
    const redisCli = (...args: string[]) =>
      execFileSync('redis-cli', ['-s', redis.socket, ...args], { encoding: 'utf8' });
    // The sweep finds a job's answer 5 s after the job was added, at the soonest: a 1.5 s call answered
    // within 4.8 s of being made was answered by its event (3.3 s left for a loaded machine's start,
    // interference and reconnection).
    const answeredSoon = async (what: string, interfere: (marker: string) => Promise<void>) => {
      const marker = scratchFile(what);
      const madeAt = Date.now();
      const running = remote.noteRun(marker, 1_500);
      assert.ok((await waitFor(() => existsSync(marker), 10_000)) !== undefined, `${what}: the call started`);
      await interfere(marker);
      assert.ok((await running) > 0);
      const took = Date.now() - madeAt;
      assert.ok(took < 4_800, `${what}: the call took ${took} ms`);
      assert.equal(lines(marker).length, 1, `${what}: it ran once`);
    };
    await answeredSoon('two-bad-entries', async () => {
      for (let i = 0; i < 2; i++) {
        redisCli('XADD', 'bull:default@test:events', '*', 'event', 'completed');
        await sleep(300);
      }
    });
    await answeredSoon('restart-under-call', async () => {
      await redis.kill();
      await sleep(200);
      await redis.restart();
    });
  });

  test("calls made as Redis wakes from a stall longer than a worker's word lasts reach that worker: no NoWorkerError", async () => {
    // A call out keeps the caller listening: the calls below ask at once whether a worker is alive.
    const marker = scratchFile('out-through-stall');
    const out = remote.noteRun(marker, 6_000).catch(() => 0); // Lost with its lock in the stall, as documented.
    assert.ok((await waitFor(() => existsSync(marker), 10_000)) !== undefined);
    // The workers here say they are alive for lockDuration + stalledInterval (2 s): Redis stopped for
    // longer has that word run out, and the caller's question may be read before the worker's next word.
    process.kill(redis.pid, 'SIGSTOP');
    await sleep(2_500);
    const outcomes = Promise.allSettled(Array.from({ length: 10 }, () => values.Values.pid()));
    await sleep(500);
    process.kill(redis.pid, 'SIGCONT');
    await out;
    const refused = (await outcomes)
      .filter((outcome) => outcome.status === 'rejected')
      .map((outcome) => outcome.reason);
    assert.ok(
      refused.every((error) => !(error instanceof NoWorkerError)),
      refused.map((error: Error) => error.message).join('\n'),
    );
  });

  test('reconnectTimeout, lockDuration and stalledInterval must be whole numbers of ms from 1 to 2^31-1', () => {
    for (const name of ['reconnectTimeout', 'lockDuration', 'stalledInterval']) {
      for (const wrong of [0, -1, 1.5, 2 ** 31]) {
        assert.throws(() => transport(redis.socket, { [name]: wrong }), {
          code: 'ERR_INVALID_OPTION',
          message: `bullmq(options): ${name} must be a positive whole number up to 2147483647 (got ${wrong}).`,
        });
      }
    }
  });

  test("callerGoneAfter is at least a second: a shorter word would run out between a live caller's checks", () => {
    assert.throws(() => transport(redis.socket, { callerGoneAfter: 100 }), {
      code: 'ERR_INVALID_OPTION',
      message: /^bullmq\(options\): callerGoneAfter must be at least 1000 ms \(got 100\)/,
    });
    assert.doesNotThrow(() => transport(redis.socket, { callerGoneAfter: 1_000 }));
  });

  test('maxPayloadBytes must be a whole number of bytes from 1 to 256 MiB (a job is JSON, its payload base64)', () => {
    for (const wrong of [0, -1, 1.5, 256 * 1024 * 1024 + 1]) {
      assert.throws(() => transport(redis.socket, { maxPayloadBytes: wrong }), {
        code: 'ERR_INVALID_OPTION',
        message: `bullmq(options): maxPayloadBytes must be a positive whole number up to 268435456 (got ${wrong}).`,
      });
    }
    assert.doesNotThrow(() => transport(redis.socket, { maxPayloadBytes: 256 * 1024 * 1024 }));
  });

  test("a remote pool's name or build with ':' or '@' is refused: it would share another pool's queue", () => {
    assert.throws(() => configure('a:b', { transport: transport(redis.socket) }), /cannot contain ':' or '@'/);
    // A build id is refused by bullmq() itself, at once, as the worker's --build-id is.
    assert.throws(() => transport(redis.socket, { buildId: 'x@y' }), {
      code: 'ERR_INVALID_OPTION',
      message: /buildId cannot contain ':' or '@' \(got 'x@y'\)/,
    });
  });

  test('an idle caller exits even when Redis cannot be reached', () => {
    const run = runScript(
      `const { configure } = await import('run-in-process');
       const { bullmq } = await import('run-in-process/bullmq');
       configure({ transport: bullmq({ connection: { path: ${JSON.stringify(`${redis.socket}.nowhere`)} }, buildId: 'test' }) });
       const { Values } = await import(${JSON.stringify(app.callerModule('values'))});
       console.log('call:', await Values.pid().catch((error) => error.name));`,
      { timeout: 15_000 },
    );
    assert.equal(run.status, 0, run.report);
    assert.match(run.stdout, /^call: TransportUnavailableError$/m, run.report);
  });

  test('an idle caller exits when Redis goes away after its calls (ioredis would try to reconnect for ever)', async () => {
    const run = runScript(
      `const { configure } = await import('run-in-process');
       const { bullmq } = await import('run-in-process/bullmq');
       configure({ transport: bullmq({ connection: { path: ${JSON.stringify(redis.socket)} }, buildId: 'test' }) });
       const { Values } = await import(${JSON.stringify(app.callerModule('values'))});
       console.log('call:', typeof (await Values.pid()));
       // The app goes on with other work, past the second after which the link stops listening.
       await new Promise((resolve) => setTimeout(resolve, 1_500));
       process.kill(${redis.pid}, 'SIGKILL');
       await new Promise((resolve) => setTimeout(resolve, 500));
       console.log('idle, with Redis gone');`,
      { timeout: 10_000 },
    );
    try {
      assert.equal(run.status, 0, run.report);
      assert.match(run.stdout, /^call: number$/m, run.report);
      assert.match(run.stdout, /^idle, with Redis gone$/m, run.report);
    } finally {
      await redis.restart();
      await waitFor(() => false, 1_500); // The worker reconnects.
    }
  });

  test('an idle caller whose Redis restarts again and again still reaches it once it is back', async () => {
    // Each loss parks the idle link's clients (ioredis 'reconnecting'); a client parked within that
    // event reconnected anyway, marked as closed on purpose, and ended for good at the next loss.
    for (let i = 0; i < 3; i++) {
      await sleep(1_300); // Past the second after which the link stops listening.
      await redis.kill();
      await sleep(200);
      await redis.restart();
      await values.Values.pid().catch(() => 0);
    }
    await sleep(1_500);
    for (let i = 0; i < 2; i++)
      assert.ok((await values.Values.pid().catch((e) => assert.fail(e.message))) > 0, 'answered');
  });

  test('a worker that cannot reach Redis says so once, keeps trying, and exits cleanly on SIGTERM', async () => {
    const nowhere = `${redis.socket}.nowhere`;
    const worker = await app.startWorker({ redis: nowhere, until: /waiting for Redis/ });
    assert.match(worker.output(), /waiting for Redis at .*\.nowhere \(.*ENOENT.*\); retrying until it answers/);
    await sleep(1_500);
    assert.equal(worker.output().match(/waiting for Redis/g)?.length, 1, 'said once, not at each retry');
    assert.equal(await worker.stop(), 0, worker.output());
  });

  test('Redis down while a call runs: its timeout still applies, and does not claim that the worker was told to stop', async () => {
    const marker = scratchFile('timed-out-redis-down');
    // The worker's own timeout must not fire before Redis is gone (it would answer through Redis):
    // 2 s leaves a loaded machine time to see the marker and kill Redis.
    const running = withCallOptions({ timeout: 2_000 }, () => remote.noteRun(marker, 10_000));
    assert.ok((await waitFor(() => existsSync(marker), 10_000)) !== undefined);
    await redis.kill();
    try {
      const timeout = await rejectionOf(running, TimeoutError);
      assert.doesNotMatch(timeout.message, /was asked to stop/);
      assert.match(
        timeout.message,
        /A request to stop the call is sent to it, which reaches it only if its queue can be reached/,
      );
    } finally {
      await redis.restart();
    }
  });

  test('Redis down at call time is TransportUnavailableError, promptly, naming where it tried and why', async () => {
    await redis.kill();
    try {
      const startedAt = Date.now();
      const error = await rejectionOf(values.Values.pid(), TransportUnavailableError);
      assert.ok(Date.now() - startedAt < 2_000, `failed in ${Date.now() - startedAt} ms`);
      assert.ok(
        error.message.includes(`Redis at unix:${redis.socket} (queue default@test) cannot be reached (connect `),
        error.message,
      );
      assert.match(error.message, /Nothing was sent\. Check that Redis runs there/);
    } finally {
      await redis.restart();
    }
  });

  test("a Redis URL no one answers at: TransportUnavailableError names it with its password masked, and the socket's error", async () => {
    const error = await onBuild('test', { connection: 'redis://rip:s3cret@127.0.0.1:1/0' }, () =>
      rejectionOf(values.Values.pid(), TransportUnavailableError),
    );
    assert.ok(error.message.includes('Redis at redis://rip:***@127.0.0.1:1/0 '), error.message);
    assert.match(error.message, /\(connect ECONNREFUSED 127\.0\.0\.1:1\)/);
    assert.doesNotMatch(`${error.message} ${(error.cause as Error).message}`, /s3cret/);
  });

  test('an address where something else than Redis answers: TransportUnavailableError says so, and a worker waits, saying so', async () => {
    // An HTTP server, as a wrong port finds one: ioredis's own words were "max retries per request".
    const server = createServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const where = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const error = await onBuild('test', { connection: where }, () =>
        rejectionOf(values.Values.pid(), TransportUnavailableError),
      );
      const notRedis =
        /what answers there does not speak Redis's protocol, its answer beginning with "H": is that Redis's address and port\?/;
      assert.match(error.message, notRedis);
      assert.ok(error.message.includes(`Redis at ${where} `), error.message);
      const worker = await app.startWorker({ redis: where, until: /waiting for Redis/ });
      assert.match(worker.output(), notRedis);
      assert.equal(await worker.stop(), 0, worker.output());
    } finally {
      server.close();
    }
  });

  test('warmUp() of a remote pool whose Redis cannot be reached is TransportUnavailableError, saying where and why', async () => {
    const error = await onBuild('test', { connection: 'redis://127.0.0.1:1/0' }, () =>
      rejectionOf(warmUp(), TransportUnavailableError),
    );
    assert.match(
      error.message,
      /^warmUp\('default'\): Redis at redis:\/\/127\.0\.0\.1:1\/0 \(queue default@test\) cannot be reached \(connect ECONNREFUSED/,
    );
  });
});

describe('a remote pool on a Redis without persistence', { skip }, () => {
  let redis: RedisServer;
  let app: RemoteApp;
  let worker: StartedWorker | undefined;

  before(async () => {
    redis = await startRedis({ persistence: false });
    app = theApp();
    worker = await app.startWorker({ redis: redis.socket });
    configure({ transport: transport(redis.socket) });
  });

  after(async () => {
    await shutdown();
    await worker?.stop();
    await redis?.stop();
  });

  test('a job lost with a Redis restart is JobLostError, not a hang; the pool serves on once workers are back', async () => {
    const remote = (await import(app.callerModule('remote'))) as RemoteModule;
    const marker = scratchFile('lost-job');
    const running = remote.noteRun(marker, 3_000);
    assert.ok((await waitFor(() => existsSync(marker), 10_000)) !== undefined);
    await redis.kill();
    await redis.restart();
    const lost = await rejectionOf(running, JobLostError);
    assert.equal(lost.mayHaveRun, true, 'a worker may have taken it before it was lost');
    assert.equal(lost.code, 'ERR_JOB_LOST');
    assert.match(lost.message, /no longer has job/);
    // The worker reconnects and says it is alive again; calls go through.
    await waitFor(() => false, 1_500);
    assert.ok((await remote.noteRun(scratchFile('after-restart'), 0)) > 0);
  });
});

describe('a worker whose Redis restarts without persistence, forgetting that it is alive', { skip }, () => {
  let redis: RedisServer;
  let worker: StartedWorker | undefined;

  before(async () => {
    redis = await startRedis({ persistence: false });
    // It says it is alive every third of lock duration + stall interval: here, every 20 s.
    const args = ['--lock-duration', '30000', '--stalled-interval', '30000'];
    worker = await theApp().startWorker({ redis: redis.socket, args });
    configure({ transport: transport(redis.socket) });
  });

  after(async () => {
    await shutdown();
    await worker?.stop();
    await redis?.stop();
  });

  test('says so again once it reconnects, not at its next turn: calls meanwhile are not NoWorkerError', async () => {
    const remote = (await import(theApp().callerModule('remote'))) as RemoteModule;
    assert.ok((await remote.noteRun(scratchFile('before-restart'), 0)) > 0);
    await redis.kill();
    await redis.restart();
    // Past the second for which a caller takes a worker it saw as still there.
    await sleep(1_500);
    const restarted = performance.now();
    let refused: unknown;
    while (performance.now() - restarted < 5_000) {
      try {
        assert.ok((await remote.noteRun(scratchFile('after-restart'), 0)) > 0);
        return;
      } catch (error) {
        if (!(error instanceof NoWorkerError)) throw error;
        refused = error;
        await sleep(100);
      }
    }
    assert.fail(`no call went through within 5 s of the restart, with the worker alive: ${String(refused)}`);
  });
});
