import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { childPids, fixtureUrl, isAlive, scratchFile, waitFor, waitForFile } from '../helpers/fixtures.js';
import { listChildrenCode, runScript, startScript } from '../helpers/scripts.js';

test('when the parent is killed with SIGKILL, a child stuck in a CPU loop exits', async () => {
  const started = scratchFile('spinning');
  const parent = startScript(`
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { configure } = await import('run-in-process');
    configure('orphans', { size: 1 });
    inPool('orphans').spin(60_000, ${JSON.stringify(started)});`);
  let stderr = '';
  parent.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = once(parent, 'exit');
  try {
    const childPid = Number(await waitForFile(started, 15_000));
    assert.ok(childPid > 0 && isAlive(childPid), `the child is running its CPU loop\n${stderr}`);
    parent.kill('SIGKILL');
    await exited;
    assert.ok((await waitFor(() => !isAlive(childPid), 5_000)) !== undefined, `child ${childPid} outlived its parent`);
  } finally {
    parent.kill('SIGKILL');
  }
});

/** The sentinels (pool/local/orphan-sentinel.ts) a process has started: `/bin/sh` children that watch a child's pid. */
function sentinelsOf(parentPid: number): { pid: number; watches: number }[] {
  return childPids(parentPid).flatMap((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const at = argv.indexOf('sentinel');
      return at > 0 ? [{ pid, watches: Number(argv[at + 1]) }] : [];
    } catch {
      return [];
    }
  });
}

test('when the parent is killed, busy children end, one stopped with SIGSTOP and one whose sentinel its code killed included', async () => {
  const first = scratchFile('spinning-first');
  const second = scratchFile('spinning-second');
  const parent = startScript(`
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { configure } = await import('run-in-process');
    configure('orphans', { size: 2 });
    inPool('orphans').spin(60_000, ${JSON.stringify(first)});
    inPool('orphans').spin(60_000, ${JSON.stringify(second)});`);
  let stderr = '';
  parent.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = once(parent, 'exit');
  try {
    const stopped = Number(await waitForFile(first, 15_000));
    const unwatched = Number(await waitForFile(second, 15_000));
    assert.ok(isAlive(stopped) && isAlive(unwatched), `both children run their CPU loops\n${stderr}`);
    // One sentinel per child, each watching its own: they hold nothing else of the pool open.
    const sentinels = () => sentinelsOf(parent.pid!);
    await waitFor(() => sentinels().length === 2, 5_000);
    assert.deepEqual(
      sentinels()
        .map((s) => s.watches)
        .sort(),
      [stopped, unwatched].sort(),
    );
    // Killed as a child's code could kill it: it is replaced (within a second of the first one's start).
    const killed = sentinels().find((s) => s.watches === unwatched)!.pid;
    process.kill(killed, 'SIGKILL');
    const replaced = await waitFor(() => sentinels().some((s) => s.watches === unwatched && s.pid !== killed), 5_000);
    assert.ok(replaced !== undefined, `a killed sentinel was replaced\n${stderr}`);
    process.kill(stopped, 'SIGSTOP');
    parent.kill('SIGKILL');
    await exited;
    for (const pid of [stopped, unwatched]) {
      assert.ok((await waitFor(() => !isAlive(pid), 5_000)) !== undefined, `child ${pid} outlived its parent`);
    }
  } finally {
    parent.kill('SIGKILL');
  }
});

test('shutdown() returns once every child and its sentinel have exited', async () => {
  const run = await runScript(`
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { configure, shutdown } = await import('run-in-process');
    configure('orphans', { size: 2 });
    // Two calls that each hold a child for a while: two children.
    await Promise.all([inPool('orphans').spin(300), inPool('orphans').spin(300)]);
    ${listChildrenCode}
    console.log('before', children.length);
    await shutdown();
    {
      ${listChildrenCode}
      console.log('after', children.length);
    }`);
  assert.equal(run.status, 0, run.report);
  // Two children and their two sentinels, then nothing.
  assert.match(run.stdout, /before 4\nafter 0\n/, run.report);
});
