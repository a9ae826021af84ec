import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { AbortError, configure, ProcessCrashedError, shutdown, TimeoutError, withCallOptions } from 'run-in-process';
import { fixture, fixtureUrl, isAlive, scratchFile, waitFor, waitForFile } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { startScript } from '../helpers/scripts.js';

// What offloaded code starts is stopped with the child that started it: each child leads a process
// group, and the group is killed when the child exits, whatever the reason. POSIX only.

type PooledModule = typeof import('../fixtures/src/pooled.js');
const { inPool } = await fixture<PooledModule>('standard', 'pooled');
configure('process-trees', { size: 1 });
const { spawnSleeper, pid } = inPool('process-trees');

after(() => shutdown());

async function assertStopped(marker: string, what: string): Promise<void> {
  const sleeper = Number(await waitForFile(marker));
  assert.ok(sleeper > 0);
  assert.ok(
    (await waitFor(() => !isAlive(sleeper), 5_000)) !== undefined,
    `${what}: sleep ${sleeper} was left running`,
  );
}

test('a crash is reported as a crash when the child exits, and takes what it started with it', async () => {
  const marker = scratchFile('sleeper-crash');
  // Its sleep holds the child's stdout and stderr open; the crash must not wait for them to close.
  const call = withCallOptions({ timeout: 3_000 }, () => spawnSleeper(marker, true, 'exit'));
  const error = await rejectionOf(call, ProcessCrashedError);
  assert.equal(error.exitCode, 3);
  await assertStopped(marker, 'after a crash');
});

test('a timeout, an abort and a child that merely exits after its calls stop what it started', async () => {
  // The crash before left no child: one that imports the module first, under the timeout below on a
  // busy machine, would time out before it starts the sleeper (as a slow spawn of it would in 300 ms).
  await pid();
  const timedOut = scratchFile('sleeper-timeout');
  await rejectionOf(
    withCallOptions({ timeout: 1_500 }, () => spawnSleeper(timedOut, false, 'hang')),
    TimeoutError,
  );
  await assertStopped(timedOut, 'after a timeout');

  const aborted = scratchFile('sleeper-abort');
  const controller = new AbortController();
  const call = withCallOptions({ signal: controller.signal }, () => spawnSleeper(aborted, false, 'hang'));
  await waitForFile(aborted);
  controller.abort();
  await rejectionOf(call, AbortError);
  await assertStopped(aborted, 'after an abort');

  const returned = scratchFile('sleeper-return');
  const sleeper = await spawnSleeper(returned, false, 'return');
  assert.ok(sleeper !== undefined && isAlive(sleeper), 'what a call starts may outlive the call');
  const child = await pid();
  await shutdown();
  assert.ok(!isAlive(child));
  await assertStopped(returned, 'after shutdown()');
});

test('when the parent is killed with SIGKILL, what its children started is stopped too', async () => {
  const marker = scratchFile('sleeper-orphan');
  const parent = startScript(`
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { configure } = await import('run-in-process');
    configure('process-trees', { size: 1 });
    await inPool('process-trees').spawnSleeper(${JSON.stringify(marker)}, true, 'hang');`);
  const exited = once(parent, 'exit');
  try {
    await waitForFile(marker, 15_000);
    parent.kill('SIGKILL');
    await exited;
    await assertStopped(marker, 'after the parent was killed');
  } finally {
    parent.kill('SIGKILL');
  }
});
