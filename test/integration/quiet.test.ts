import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureUrl } from '../helpers/fixtures.js';
import { runScript } from '../helpers/scripts.js';

test('the library installs no signal handlers and prints nothing on its own', () => {
  const run = runScript(`
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'];
    const count = () => [...signals, 'exit'].map((event) => process.listenerCount(event)).join(',');
    const before = count();
    const { Crasher } = await import(${JSON.stringify(fixtureUrl('standard', 'crashes'))});
    const { shutdown, withCallOptions } = await import('run-in-process');
    await Promise.all([Crasher.pid(), Crasher.pid()]);
    await Promise.allSettled([withCallOptions({ timeout: 100 }, () => Crasher.spin(5_000))]);
    // One signal shared by many calls at once, as a server's shutdown signal is: no listener warning.
    const shared = new AbortController();
    await Promise.all(Array.from({ length: 30 }, () => withCallOptions({ signal: shared.signal }, () => Crasher.pid())));
    const during = count();
    await shutdown();
    console.log(before + ' ' + during + ' ' + count());`);
  assert.equal(run.status, 0, run.report);
  const [before, during, afterwards] = run.stdout.trim().split(' ');
  assert.equal(during, before, 'no handler for a signal or for exit was added');
  assert.equal(afterwards, before);
  assert.equal(run.stderr, '', 'nothing printed to stderr');
});

test('the library leaves no async hook installed: the app’s promises cost what they did before', () => {
  // With an async hook enabled, Node gives every promise an async id (and runs its promise hooks):
  // inside a reaction, executionAsyncId() is then that id instead of 0.
  const run = runScript(`
    const { executionAsyncId } = await import('node:async_hooks');
    const idInReaction = () => Promise.resolve().then(() => executionAsyncId());
    const before = await idInReaction();
    const { Crasher } = await import(${JSON.stringify(fixtureUrl('standard', 'crashes'))});
    const { configure, shutdown } = await import('run-in-process');
    configure({ size: 2 });
    await Promise.all([Crasher.pid(), Crasher.pid(), Crasher.pid()]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const during = await idInReaction();
    await shutdown();
    console.log(before + ' ' + during);`);
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout.trim(), '0 0', 'promise hooks stayed installed after children were forked');
});
