import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, mock, test } from 'node:test';
import { configure, shutdown, stats, TimeoutError, withCallOptions } from 'run-in-process';
import { CallLog } from '../helpers/call-log.js';
import { fixture, fixtureUrl, repoRoot } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { runScript } from '../helpers/scripts.js';

// A test's fake timers (node:test's mock.timers here; vitest's and jest's useFakeTimers() replace
// the same globals) are for the test's own code: the pool keeps real time. Under vitest's, a call's
// timeout never fired, and shutdown() never settled.

type PooledModule = typeof import('../fixtures/src/pooled.js');
const { step, pid } = (await fixture<PooledModule>('standard', 'pooled')).inPool('fake-timers');
after(() => shutdown());

test("a call's timeout, a pool's start and shutdown() keep real time under a test's fake timers", async () => {
  configure('fake-timers', { size: 1 });
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'setImmediate'] });
  try {
    // The pool starts its child under the fake timers.
    assert.equal(typeof (await pid()), 'number');
    const log = new CallLog();
    const error = await rejectionOf(
      withCallOptions({ timeout: 300 }, () => step(log.path, 0, { sleepMs: 60_000 })),
      TimeoutError,
    );
    assert.match(error.message, /timed out after 300 ms/);
    assert.equal(stats('fake-timers').timedOut, 1);
    // The next call goes to a new child (the one that timed out was killed).
    assert.equal(typeof (await pid()), 'number');
    await shutdown({ deadline: 1_000 });
  } finally {
    mock.timers.reset();
  }
});

test('a call made while process.nextTick is faked is refused, saying why: Node talks with a child through it', async () => {
  // As @sinonjs/fake-timers (sinon's useFakeTimers(), and vitest's and jest's) installs one: a
  // function that it marks with its clock, and which runs nothing until the clock is told to.
  // Calls hung, or failed after startTimeout as not started by a stuck child.
  const real = process.nextTick;
  process.nextTick = Object.assign((..._: unknown[]) => {}, { clock: {} }) as typeof process.nextTick;
  let refused: Promise<unknown>;
  try {
    refused = pid();
  } finally {
    process.nextTick = real;
  }
  const error = await rejectionOf(refused, TypeError);
  assert.match(error.message, /process\.nextTick is faked .*Leave it out of the fake timers/);
  assert.equal(typeof (await pid()), 'number');
});

// @sinonjs/fake-timers itself, as the jest compat app installs it (scripts/test-node-lines.sh): not a
// dependency of the project's, so this runs on the passes that install it.
const sinonFakeTimers = join(repoRoot, 'test/compat/jest-install/node_modules/@sinonjs/fake-timers');

test("sinon's fake timers installed before the library loads are seen through: a timeout and shutdown()'s deadline keep real time", {
  skip: !existsSync(sinonFakeTimers) && 'needs @sinonjs/fake-timers (the jest compat app installs it)',
}, () => {
  // From version 11 it replaces node:timers' exports too: the library took its fakes for the real ones.
  const run = runScript(
    `const FakeTimers = (await import('node:module')).createRequire(import.meta.url)(${JSON.stringify(sinonFakeTimers)});
     FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'performance', 'queueMicrotask', 'hrtime'] });
     const { configure, shutdown, withCallOptions } = await import('run-in-process');
     const { Crasher } = await import(${JSON.stringify(fixtureUrl('standard', 'crashes'))});
     configure({ size: 1, recordTiming: true });
     const timedOut = await withCallOptions({ timeout: 200 }, () => Crasher.spin(5_000)).then(() => 'ran', (error) => error.name);
     const running = Crasher.spin(5_000).then(() => 'ran', (error) => error.name);
     await new Promise((resolve) => process.nextTick(resolve));
     await shutdown({ deadline: 200 });
     console.log(timedOut, await running);`,
    { timeout: 4_000 },
  );
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout.trim(), 'TimeoutError PoolClosedError', run.report);
});
