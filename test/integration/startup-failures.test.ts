import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ChildStartupError, configure, ModuleLoadError, shutdown } from 'run-in-process';
import { fixture } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';

// Children that cannot start, and declaring modules that a child cannot load.

type BrokenModule = typeof import('../fixtures/src/broken-at-import.js');
type FlaggedModule = typeof import('../fixtures/src/flagged.js');
type PooledModule = typeof import('../fixtures/src/pooled.js');

after(() => shutdown());

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

test('a child stopped for what it said while booting fails its calls saying what that was, not only the signal', async () => {
  // It says it could not import a module the pool does not preload, while its preload never finishes.
  const lie =
    'data:text/javascript,process.send(["run-in-process:preload-failed","file:///nothing.mjs",["value",new Uint8Array([1])]])';
  configure('flags', {
    execArgv: ['--import', lie],
    preload: [new URL('../../fixtures/standard/hangs-at-import.js', import.meta.url).href],
    size: 1,
  });
  const { flagged } = await fixture<FlaggedModule>('standard', 'flagged');
  const error = await rejectionOf(flagged(), ChildStartupError);
  assert.match(
    error.message,
    /was stopped before it was ready to take calls: it said it could not import a module it was not importing/,
  );
  configure('flags', { size: 2 });
  assert.notEqual(await flagged(), process.pid);
});

test('a child that throws as it starts (its own uncaught error, reported on its IPC channel, not on stderr) says what it threw', async () => {
  // Thrown from a timer once the child runs the pool's code, while its preload never finishes.
  const throwLater =
    'data:text/javascript,setTimeout(() => { throw new RangeError("thrown as the child starts") }, 300)';
  configure('flags', {
    execArgv: ['--import', throwLater],
    preload: [new URL('../../fixtures/standard/hangs-at-import.js', import.meta.url).href],
    size: 1,
  });
  const { flagged } = await fixture<FlaggedModule>('standard', 'flagged');
  const error = await rejectionOf(flagged(), ChildStartupError);
  assert.match(
    error.message,
    /exited with code 70 before it was ready to take calls\. It threw as it started: RangeError: thrown as the child starts/,
  );
  assert.ok(error.cause instanceof RangeError, String(error.cause));
  configure('flags', { size: 2 });
  assert.notEqual(await flagged(), process.pid);
});

test('a module that throws at import rejects with ModuleLoadError; other modules still work; a fix is picked up', async () => {
  // Broken.never and pid() both run in the pool 'module-loading'; only Broken's module is broken.
  configure('module-loading', { size: 2 });
  const { Broken } = await fixture<BrokenModule>('standard', 'broken-at-import');
  const { pid } = (await fixture<PooledModule>('standard', 'pooled')).inPool('module-loading');
  const error = await rejectionOf(Broken.never(), ModuleLoadError);
  assert.match(error.moduleUrl, /broken-at-import\.js$/);
  assert.match(error.message, /could not load Broken\.never .*refuses to load in a child/s);
  assert.equal((error.cause as Error).message, 'this module refuses to load in a child');
  assert.equal(typeof (await pid()), 'number');
  configure('module-loading', { size: 2, env: { ...process.env, BROKEN_FIXTURE_FIXED: '1' } });
  assert.equal(await Broken.never(), 'unreachable');
});
