import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import { AbortError, configure, ProcessCrashedError, shutdown, TimeoutError, withCallOptions } from 'run-in-process';
import { fixture, fixtureUrl, isAlive, repoRoot, scratchFile, waitFor, waitForFile } from '../helpers/fixtures.js';
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

/** Whether this machine lets us make a PID namespace (root, util-linux's unshare, and no container that forbids it). */
const pidNamespaces =
  existsSync('/usr/bin/unshare') &&
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { timeout: 5_000 }).status === 0;

test("as a container's first process (PID 1, no init), the parent is left no zombie by its children's ends", {
  skip: !pidNamespaces && 'needs a PID namespace (root, and unshare)',
}, () => {
  // An orphan goes to PID 1, which Node does not reap: each child's sentinel, outliving its child by a
  // moment, stayed a zombie, one per child ever ended, until no process could start.
  const script = `const { configure, shutdown, withCallOptions } = await import('run-in-process');
    const { readdirSync, readFileSync } = await import('node:fs');
    const { Crasher } = await import(${JSON.stringify(fixtureUrl('standard', 'crashes'))});
    configure({ size: 2 });
    const ended = [];
    for (let i = 0; i < 4; i++) {
      ended.push(await withCallOptions({ timeout: 200 }, () => Crasher.spin(10_000)).catch((error) => error.name));
      ended.push(await Crasher.signal('SIGKILL').catch((error) => error.name));
    }
    await shutdown();
    // A thread's pool, its child spinning as the thread is terminated: the child ends with it (its lifeline).
    const { Worker } = await import('node:worker_threads');
    const thread = new Worker(\`(async () => {
      const { Crasher } = await import(\${JSON.stringify(${JSON.stringify(fixtureUrl('standard', 'crashes'))})});
      (await import('node:worker_threads')).parentPort.postMessage(await Crasher.pid());
      await Crasher.spin(60_000);
    })()\`, { eval: true });
    const [spinner] = await (await import('node:events')).once(thread, 'message');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await thread.terminate();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    let state = 'gone';
    try { const stat = readFileSync('/proc/' + spinner + '/stat', 'utf8'); state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3); } catch {}
    ended.push(state === 'R' ? 'still spinning' : 'ended');
    const zombies = readdirSync('/proc').filter((entry) => /^\\d+$/.test(entry)).filter((entry) => {
      try {
        const stat = readFileSync('/proc/' + entry + '/stat', 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      } catch { return false; }
    });
    console.log(process.pid, ended.join(' '), zombies.length);`;
  const run = spawnSync(
    'unshare',
    ['--pid', '--fork', '--mount-proc', process.execPath, '--input-type=module', '-e', script],
    { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 },
  );
  const report = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, report);
  // The terminated thread's child is a zombie of this process (nodejs/node#46569, README), and ended.
  assert.equal(run.stdout.trim(), `1 ${'TimeoutError ProcessCrashedError '.repeat(4)}ended 1`, report);
});
