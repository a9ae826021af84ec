import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { configure, ProcessCrashedError, shutdown, TimeoutError } from 'run-in-process';
import { fixture } from './helpers/fixtures.js';

type CrashesModule = typeof import('./fixtures/src/crashes.js');
const { Crasher } = await fixture<CrashesModule>('standard', 'crashes');

configure({ size: 2 });
configure('small-heap', { size: 1, maxMemoryMb: 48 });
after(() => shutdown());

async function crashOf(call: Promise<unknown>): Promise<ProcessCrashedError> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof ProcessCrashedError, String(error));
    return error;
  }
  throw new Error('the call did not crash');
}

describe('a child that dies during a call', () => {
  test('an exit rejects with its exit code, the target and the tail of stderr', async () => {
    const crash = await crashOf(Crasher.exit(3));
    assert.equal(crash.exitCode, 3);
    assert.equal(crash.signal, null);
    assert.equal(crash.target, 'Crasher.exit');
    assert.match(crash.stderr, /about to exit on purpose/);
    assert.match(crash.message, /Crasher\.exit crashed: it exited with code 3/);
    assert.equal(crash.code, 'ERR_PROCESS_CRASHED');
  });

  test('a segfault and an abort reject with their signals', async () => {
    assert.equal((await crashOf(Crasher.signal('SIGSEGV'))).signal, 'SIGSEGV');
    assert.equal((await crashOf(Crasher.abort())).signal, 'SIGABRT');
  });

  test('running out of memory says so', async () => {
    const crash = await crashOf(Crasher.exhaustMemory());
    assert.equal(crash.outOfMemory, true);
    assert.match(crash.message, /ran out of memory/);
  });

  test('other calls are unaffected and later calls work on a new child', async () => {
    const before = await Crasher.pid();
    const [survivor, crashed] = await Promise.allSettled([Crasher.spin(400), Crasher.exit(9)]);
    assert.equal(survivor.status, 'fulfilled');
    assert.equal(crashed.status, 'rejected');
    const later = await Crasher.pid();
    assert.equal(typeof later, 'number');
    assert.notEqual(later, process.pid);
    assert.ok(before > 0);
  });

  test('an error thrown outside the call (a timer, an unhandled rejection) is the crash cause', async () => {
    const fromTimer = await crashOf(Crasher.throwLater());
    assert.ok(fromTimer.cause instanceof RangeError, String(fromTimer.cause));
    assert.equal(fromTimer.cause.message, 'thrown from a timer');
    assert.match(fromTimer.message, /threw outside any call.*thrown from a timer/);
    const unhandled = await crashOf(Crasher.rejectUnhandled());
    assert.ok(unhandled.cause instanceof TypeError);
    assert.equal(unhandled.cause.message, 'nobody handles this');
  });
});

test("an uncaught error that the user's own handler catches does not end the child", async () => {
  assert.equal(await Crasher.survivesOwnHandler(), 'handled by the user');
});

describe('timeouts', () => {
  test('an overdue call is killed and rejects with TimeoutError; the pool goes on', async () => {
    await assert.rejects(Crasher.hang(), (error: unknown) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.timeout, 300);
      assert.match(error.message, /Crasher\.hang timed out after 300 ms/);
      return true;
    });
    assert.equal(typeof (await Crasher.pid()), 'number');
  });
});
