import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import {
  AbortError,
  configure,
  NotServedError,
  ProcessCrashedError,
  RunInProcessError,
  shutdown,
  TimeoutError,
  TransportUnavailableError,
  withCallOptions,
  WorkerLostError,
} from 'run-in-process';
import { bullmq } from 'run-in-process/bullmq';
import { fixtureUrl, scratchFile, waitFor } from '../helpers/fixtures.js';
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

const skip = redisServerAvailable() ? false : 'redis-server is not installed (apt-get install redis-server)';

describe('a pool whose calls run on remote workers, through BullMQ', { skip }, () => {
  let redis: RedisServer;
  let app: RemoteApp;
  let worker: StartedWorker | undefined;
  let values: ValuesModule;
  let errors: ErrorsModule;
  let remote: RemoteModule;

  before(async () => {
    redis = await startRedis();
    app = remoteApp();
    worker = await app.startWorker({ redis: redis.socket });
    configure({
      transport: bullmq({
        connection: { path: redis.socket },
        buildId: 'test',
        lockDuration: 1_000,
        stalledInterval: 1_000,
      }),
    });
    values = (await import(app.callerModule('values'))) as ValuesModule;
    errors = (await import(app.callerModule('errors'))) as ErrorsModule;
    remote = (await import(app.callerModule('remote'))) as RemoteModule;
  });

  after(async () => {
    await shutdown();
    await worker?.stop();
    await redis?.stop();
  });

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
    assert.equal(await values.Values.describe(Buffer.from('x')), '[object Uint8Array] Buffer');
  }

  async function errorsComeBackAsLocal(): Promise<void> {
    for (const kind of errors.sameAsLocalKinds) {
      const thrown = await rejectionOf(errors.Thrower.throwKind(kind));
      assertSameAsLocal(thrown, errors.failure(kind), undefined, kind);
    }
  }

  test('values cross to the worker and back keeping their types, -0 and holes included', valuesCrossIntact);

  test('errors come back as a local call throws them: class, own properties, cause chains', errorsComeBackAsLocal);

  test('a worker on another Node major answers the same: the codec does not depend on the Node line', async () => {
    const line = Number(process.versions.node.split('.')[0]) === 22 ? 24 : 22;
    await worker?.stop();
    worker = await app.startWorker({ redis: redis.socket, node: nodeOfLine(line) });
    await valuesCrossIntact();
    await errorsComeBackAsLocal();
  });

  test('a target no worker serves is NotServedError, naming the nearest ids it serves', async () => {
    // The same class from the library's own fixture build: its key names another package.
    const { Values } = (await import(fixtureUrl('standard', 'values'))) as ValuesModule;
    const error = await rejectionOf(Values.pid(), NotServedError);
    assert.equal(error.target, 'run-in-process:build/fixtures/standard/values.js#Values.pid');
    assert.ok(error.nearest.includes('rip-remote-app:dist/values.js#Values.pid'), error.message);
  });

  test('a crash of the remote child is ProcessCrashedError with the host and its stderr; the worker serves on', async () => {
    const crash = await rejectionOf(remote.die(), ProcessCrashedError);
    assert.equal(crash.signal, 'SIGKILL');
    assert.equal((crash as ProcessCrashedError & { host?: string }).host, hostname());
    assert.match(crash.stderr, /dying on purpose/);
    const marker = scratchFile('after-crash');
    assert.ok((await remote.noteRun(marker, 0)) > 0);
  });

  test('a timeout is enforced by the worker, which kills its child, and comes back with the host', async () => {
    const timeout = await rejectionOf(
      withCallOptions({ timeout: 300 }, () => remote.spin()),
      TimeoutError,
    );
    assert.equal((timeout as TimeoutError & { host?: string }).host, hostname());
    assert.equal(timeout.timeout, 300);
  });

  test('an abort stops a running call on the worker: its marker stops growing', async () => {
    const marker = scratchFile('ticking');
    const controller = new AbortController();
    const running = withCallOptions({ signal: controller.signal }, () => remote.tick(marker));
    assert.ok(
      (await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').length >= 3, 10_000)) !== undefined,
    );
    controller.abort();
    await rejectionOf(running, AbortError);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopped = readFileSync(marker, 'utf8').length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(readFileSync(marker, 'utf8').length, stopped, 'the call stopped on the worker');
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

  test('a streaming method fails at its first next(), naming the limit', async () => {
    const error = await rejectionOf(remote.countTo(3).next(), RunInProcessError);
    assert.match(error.message, /countTo streams its results .* cannot relay/);
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

  test('Redis down at call time is TransportUnavailableError, promptly', async () => {
    await redis.kill();
    try {
      await rejectionOf(values.Values.pid(), TransportUnavailableError);
    } finally {
      await redis.restart();
    }
  });
});
