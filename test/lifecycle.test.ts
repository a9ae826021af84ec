import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import {
  AbortError,
  ChildStartupError,
  configure,
  ModuleLoadError,
  PoolClosedError,
  shutdown,
  TimeoutError,
  withCallOptions,
} from 'run-in-process';
import { childPids, fixture, fixtureUrl, isAlive, waitFor } from './helpers/fixtures.js';

type CrashesModule = typeof import('./fixtures/src/crashes.js');
type StateModule = typeof import('./fixtures/src/module-state.js');
type BrokenModule = typeof import('./fixtures/src/broken-at-import.js');
type FlaggedModule = typeof import('./fixtures/src/flagged.js');
type UnconfiguredModule = typeof import('./fixtures/src/unconfigured.js');
const { Crasher } = await fixture<CrashesModule>('standard', 'crashes');
const { Stateful } = await fixture<StateModule>('standard', 'module-state');

after(() => shutdown());

describe('cancellation', () => {
  test('a queued call is dropped without starting; the running one finishes', async () => {
    configure({ size: 1 });
    const controller = new AbortController();
    const running = Crasher.spin(600);
    const queued = withCallOptions({ signal: controller.signal }, () => Crasher.spin(5_000));
    controller.abort(new Error('user gave up'));
    await assert.rejects(queued, (error: unknown) => {
      assert.ok(error instanceof AbortError);
      assert.equal(error.name, 'AbortError');
      assert.equal((error.cause as Error).message, 'user gave up');
      return true;
    });
    assert.equal(typeof (await running), 'number');
  });

  test("aborting a running call kills its child; the next call gets a new one", async () => {
    configure({ size: 1 });
    const first = await Crasher.pid();
    const controller = new AbortController();
    const call = withCallOptions({ signal: controller.signal }, () => Crasher.spin(30_000));
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    await assert.rejects(call, AbortError);
    assert.ok(await waitFor(() => !isAlive(first), 5_000) !== undefined, 'the busy child was killed');
    assert.notEqual(await Crasher.pid(), first);
  });

  test('a per-call timeout counts from the start of the call, not from the queue', async () => {
    configure({ size: 1 });
    const slow = Crasher.spin(700);
    const queued = withCallOptions({ timeout: 500 }, () => Crasher.spin(100));
    assert.equal(typeof (await slow), 'number');
    assert.equal(typeof (await queued), 'number', 'waiting 700 ms in the queue did not use up its 500 ms');
    await assert.rejects(withCallOptions({ timeout: 150 }, () => Crasher.spin(5_000)), (error: unknown) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.timeout, 150);
      return true;
    });
  });

  test('a pool default timeout applies to calls that set none', async () => {
    configure({ size: 1, timeout: 250 });
    await assert.rejects(Crasher.spin(5_000), TimeoutError);
    configure({ size: 2 });
  });
});

test('a pool name that was never configured warns once, then runs with the default options', async () => {
  const { misnamed } = await fixture<UnconfiguredModule>('standard', 'unconfigured');
  const warnings: Array<{ code?: string; message: string }> = [];
  const onWarning = (warning: Error & { code?: string }) => warnings.push(warning);
  process.on('warning', onWarning);
  const pids = [await misnamed(), await misnamed()];
  await new Promise((resolve) => setImmediate(resolve));
  process.off('warning', onWarning);
  assert.ok(pids.every((pid) => pid !== process.pid));
  assert.deepEqual(warnings.map((w) => w.code), ['RUN_IN_PROCESS_UNCONFIGURED_POOL']);
  assert.match(warnings[0]!.message, /Pool "never-configured" was never configured.*configure\('never-configured'/s);
});

describe('startup failures', () => {
  test('bad exec flags reject every call promptly; the pool works after the fix', async () => {
    configure('flags', { execArgv: ['--definitely-not-a-node-flag'], size: 2 });
    const { flagged } = await fixture<FlaggedModule>('standard', 'flagged');
    const results = await Promise.allSettled([flagged(), flagged(), flagged()]);
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.ok(result.reason instanceof ChildStartupError, String(result.reason));
      assert.match(result.reason.message, /before it was ready.*--definitely-not-a-node-flag/s);
      assert.match(result.reason.stderr, /bad option/);
    }
    configure('flags', { size: 2 });
    assert.notEqual(await flagged(), process.pid);
  });

  test('a module that throws at import rejects with ModuleLoadError; other modules still work; a fix is picked up', async () => {
    const { Broken } = await fixture<BrokenModule>('standard', 'broken-at-import');
    await assert.rejects(Broken.never(), (error: unknown) => {
      assert.ok(error instanceof ModuleLoadError);
      assert.match(error.moduleUrl, /broken-at-import\.js$/);
      assert.match(error.message, /could not load Broken\.never .*refuses to load in a child/s);
      assert.equal((error.cause as Error).message, 'this module refuses to load in a child');
      return true;
    });
    assert.equal(typeof (await Crasher.pid()), 'number');
    configure({ size: 2, env: { ...process.env, BROKEN_FIXTURE_FIXED: '1' } });
    assert.equal(await Broken.never(), 'unreachable');
    configure({ size: 2 });
  });
});

describe('isolation and recycling', () => {
  test('isolate: true runs every call in a fresh process, so module state does not carry over', async () => {
    configure('isolated', { isolate: true, size: 1 });
    const first = await Stateful.isolatedCall();
    const second = await Stateful.isolatedCall();
    assert.equal(first.calls, 1);
    assert.equal(second.calls, 1);
    assert.notEqual(first.pid, second.pid);
    configure('shared-state', { size: 1 });
    await Stateful.sharedCall();
    assert.equal((await Stateful.sharedCall()).calls, 2, 'without isolation the module state is kept');
  });

  test('recycleAfterCalls replaces a child after that many calls, losing none', async () => {
    configure('recycled', { recycleAfterCalls: 2, size: 1 });
    const results = await Promise.all(Array.from({ length: 6 }, () => Stateful.recycledCall()));
    const pids = new Set(results.map((result) => result.pid));
    assert.ok(pids.size >= 3, `6 calls with a limit of 2 used ${pids.size} children`);
    for (const result of results) assert.ok(result.calls <= 2);
  });
});

describe('memory', () => {
  test('recycleAboveHeapMb replaces a child whose heap grew past the threshold', async () => {
    configure('heap-recycled', { recycleAboveHeapMb: 1, size: 1 });
    const { HeapHog } = await fixture<StateModule>('standard', 'module-state');
    const pids = [await HeapHog.grow(), await HeapHog.grow(), await HeapHog.grow()];
    assert.equal(new Set(pids).size, 3, `each call got a fresh child: ${pids.join(', ')}`);
  });
});

describe('shutdown', () => {
  test('drains calls in flight, rejects what outlives the deadline, and leaves no child', async () => {
    configure({ size: 2 });
    const quick = Crasher.spin(100);
    const slow = assert.rejects(Crasher.spin(20_000), PoolClosedError);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await shutdown({ deadline: 1_000 });
    assert.equal(typeof (await quick), 'number');
    await slow;
    assert.deepEqual(childPids(), []);
    assert.equal(typeof (await Crasher.pid()), 'number', 'a call after shutdown starts the pool again');
    await shutdown();
    assert.deepEqual(childPids(), []);
  });

  test('an idle pool does not keep the process alive', async () => {
    const script = `
      const { Crasher } = await import(${JSON.stringify(fixtureUrl('standard', 'crashes'))});
      console.log(await Crasher.pid());`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(-1);
      }, 15_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    assert.equal(exited, 0, 'the script exited on its own, without shutdown()');
  });
});

describe('orphans', () => {
  test('when the parent is killed with SIGKILL, a child stuck in a CPU loop exits within 2 s', async () => {
    const script = `
      const { Crasher } = await import(${JSON.stringify(fixtureUrl('standard', 'crashes'))});
      const { configure } = await import('run-in-process');
      configure({ size: 1 });
      const pid = await Crasher.pid();
      Crasher.spin(60_000);
      console.log(pid);`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const childPid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (data) => resolve(String(data)))));
    assert.ok(childPid > 0 && isAlive(childPid), 'the child is running');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(isAlive(childPid), 'the child is busy in its CPU loop');
    parent.kill('SIGKILL');
    const took = await waitFor(() => !isAlive(childPid), 5_000);
    assert.ok(took !== undefined, `child ${childPid} outlived its parent`);
    assert.ok(took < 2_000, `the child took ${took} ms to exit`);
  });
});
