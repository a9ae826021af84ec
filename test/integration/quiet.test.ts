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
    const during = count();
    await shutdown();
    console.log(before + ' ' + during + ' ' + count());`);
  assert.equal(run.status, 0, run.report);
  const [before, during, afterwards] = run.stdout.trim().split(' ');
  assert.equal(during, before, 'no handler for a signal or for exit was added');
  assert.equal(afterwards, before);
  assert.equal(run.stderr, '', 'nothing printed to stderr');
});
