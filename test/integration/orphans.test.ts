import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { childPids, commandOf, fixtureUrl, isAlive, scratchFile, waitFor, waitForFile } from '../helpers/fixtures.js';
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

test('when the parent is killed, a child stuck in a preload of its pool (execArgv, NODE_OPTIONS, an env file), before the library loads there, exits', async () => {
  for (const [flag, where] of [
    ['--require', 'execArgv'],
    ['--import', 'execArgv'],
    ['--require', 'NODE_OPTIONS'],
    ['--require', 'an env file'],
  ] as const) {
    const started = scratchFile('stuck-preload');
    // A space and a quote in the path: NODE_OPTIONS quotes it.
    const preload = scratchFile(flag === '--require' ? 'stuck "pre load".cjs' : 'stuck.mjs');
    writeFileSync(preload, stuckPreload(started, flag));
    const nodeOptions = `${flag} "${preload.replace(/["\\]/g, '\\$&')}"`;
    const envFile = scratchFile('preload.env');
    writeFileSync(envFile, `NODE_OPTIONS='${nodeOptions}'\n`);
    const options = {
      execArgv: `{ size: 1, execArgv: [${JSON.stringify(flag)}, ${JSON.stringify(preload)}] }`,
      NODE_OPTIONS: `{ size: 1, env: { NODE_OPTIONS: ${JSON.stringify(nodeOptions)} } }`,
      'an env file': `{ size: 1, env: {}, execArgv: [${JSON.stringify(`--env-file=${envFile}`)}] }`,
    }[where];
    const parent = startScript(`
      const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
      const { configure } = await import('run-in-process');
      configure('orphans', ${options});
      inPool('orphans').pid();`);
    let stderr = '';
    parent.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const exited = once(parent, 'exit');
    try {
      const childPid = Number(await waitForFile(started, 15_000));
      assert.ok(childPid > 0 && isAlive(childPid), `${flag} in ${where}: the child is stuck in its preload\n${stderr}`);
      parent.kill('SIGKILL');
      await exited;
      const gone = await waitFor(() => !isAlive(childPid), 5_000);
      assert.ok(
        gone !== undefined,
        `${flag} in ${where}: child ${childPid}, stuck in its preload, outlived its parent`,
      );
    } finally {
      parent.kill('SIGKILL');
      // One that did outlive it must not spin on after the test.
      killGroup(Number(readFileSync(started, { encoding: 'utf8', flag: 'a+' })));
    }
  }
});

function killGroup(pid: number): void {
  if (!(pid > 1)) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone already, as it should be.
  }
}

/** A preload that writes its process's pid, then loops for ever: CommonJS or an ES module. */
function stuckPreload(pidFile: string, flag: string): string {
  const write = `writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));\nfor (;;) {}\n`;
  return flag === '--require'
    ? `const { writeFileSync } = require('node:fs');\n${write}`
    : `import { writeFileSync } from 'node:fs';\n${write}`;
}

test("a Node process that inherits a child's environment, and its first --require, starts no sentinel of its own", async () => {
  // As a process that code of the pool's forks before the library's file runs would (a --require
  // from a config file of Node 24's): one in the group of a shell, not its leader, whose descriptor
  // 6 is a socket that closes at once. Taken for a lifeline, its sentinel would kill that group.
  const sentinelFirst = fileURLToPath(new URL('../../../dist/child/sentinel-first.cjs', import.meta.url));
  const env = { ...process.env, RUN_IN_PROCESS_GROUP_LEADER: 'g:test', RUN_IN_PROCESS_LIFELINE: '6' };
  const shell = spawn(
    '/bin/sh',
    ['-c', `"${process.execPath}" --require "${sentinelFirst}" -e "setTimeout(() => {}, 1000)"; echo survived`],
    { detached: true, stdio: ['ignore', 'pipe', 'inherit', 'ignore', 'ignore', 'ignore', 'pipe'], env },
  );
  (shell.stdio as unknown as Socket[])[6]!.destroy();
  let out = '';
  shell.stdout?.on('data', (chunk) => (out += String(chunk)));
  const [code, signal] = (await once(shell, 'exit')) as [number | null, string | null];
  assert.deepEqual({ code, signal, out: out.trim() }, { code: 0, signal: null, out: 'survived' });
  // Nor one that leads its group, but whose descriptor 6 is a file, not a socket.
  const file = scratchFile('not-a-lifeline');
  writeFileSync(file, '');
  const fd = openSync(file, 'r');
  const leader = spawn(process.execPath, ['--require', sentinelFirst, '-e', 'setTimeout(() => {}, 1000)'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit', 'ignore', 'ignore', 'ignore', fd],
    env,
  });
  closeSync(fd);
  const [leaderCode, leaderSignal] = (await once(leader, 'exit')) as [number | null, string | null];
  assert.deepEqual({ code: leaderCode, signal: leaderSignal }, { code: 0, signal: null });
});

/** A child's sentinel (child/orphan-sentinel.ts): a live `/bin/sh` named run-in-process-sentinel. */
function isSentinel(pid: number): boolean {
  return commandOf(pid).split(' ').includes('run-in-process-sentinel') && isAlive(pid);
}

/** The sentinel a child has started. */
function sentinelOf(childPid: number): number | undefined {
  return childPids(childPid).find(isSentinel);
}

/** Every sentinel on the machine: none may outlive its child. */
function allSentinels(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter(isSentinel);
}

test('when the parent is killed, busy children end, one stopped with SIGSTOP and one whose sentinel was killed included', async () => {
  const first = scratchFile('spinning-first');
  const idle = scratchFile('idle-child');
  const release = scratchFile('release-idle');
  const parent = startScript(`
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { configure } = await import('run-in-process');
    configure('orphans', { size: 2 });
    // The second child waits, idle, until its first sentinel has been killed and replaced.
    await Promise.all([inPool('orphans').spin(60_000, ${JSON.stringify(first)}), inPool('orphans').hold(${JSON.stringify(idle)}, ${JSON.stringify(release)})]);
  `);
  let stderr = '';
  parent.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = once(parent, 'exit');
  try {
    const stopped = Number(await waitForFile(first, 15_000));
    await waitForFile(idle, 15_000);
    const holder = childPids(parent.pid!).find((pid) => pid !== stopped)!;
    assert.ok(isAlive(stopped) && isAlive(holder), `both children run\n${stderr}`);
    await waitFor(() => sentinelOf(stopped) !== undefined && sentinelOf(holder) !== undefined, 5_000);
    const killed = sentinelOf(holder);
    assert.ok(killed !== undefined && sentinelOf(stopped) !== undefined, `each child has a sentinel\n${stderr}`);
    // Killed as a child's code could kill it: the child, whose event loop turns, starts its thread.
    process.kill(killed, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(sentinelOf(holder), undefined, 'no sentinel is started again');
    process.kill(stopped, 'SIGSTOP');
    parent.kill('SIGKILL');
    await exited;
    for (const pid of [stopped, holder]) {
      assert.ok((await waitFor(() => !isAlive(pid), 5_000)) !== undefined, `child ${pid} outlived its parent`);
    }
  } finally {
    parent.kill('SIGKILL');
  }
});

test('shutdown() leaves no child and no sentinel', async () => {
  const before = new Set(allSentinels());
  const run = await runScript(`
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { configure, shutdown } = await import('run-in-process');
    configure('orphans', { size: 2 });
    // Two calls that each hold a child for a while: two children.
    await Promise.all([inPool('orphans').spin(300), inPool('orphans').spin(300)]);
    ${listChildrenCode}
    console.log('children', children.length);
    await shutdown();
    {
      ${listChildrenCode}
      console.log('after shutdown', children.length);
    }`);
  assert.equal(run.status, 0, run.report);
  assert.match(run.stdout, /children 2\nafter shutdown 0\n/, run.report);
  // The sentinels went with their children's groups.
  const left = await waitFor(() => allSentinels().every((pid) => before.has(pid)), 2_000);
  assert.ok(left !== undefined, `sentinels left running: ${allSentinels().filter((pid) => !before.has(pid))}`);
});

test('code in a child that ends its own side of the lifeline does not get the child killed', async () => {
  const run = await runScript(`
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { configure, shutdown } = await import('run-in-process');
    configure('orphans', { size: 1 });
    const ended = await inPool('orphans').lifeline('end');
    await new Promise((resolve) => setTimeout(resolve, 500));
    console.log(JSON.stringify({ ended, next: await inPool('orphans').pid() }));
    await shutdown();`);
  assert.equal(run.status, 0, run.report);
  const { ended, next } = JSON.parse(run.stdout.trim()) as { ended: number; next: number };
  assert.equal(next, ended, `the same child answers the next call\n${run.report}`);
});

test('a sentinel ignores the signals that end a shell; one killed after the child closed its lifeline gives way to the watchdog thread', async () => {
  const pidFile = scratchFile('lifeline-reused');
  const release = scratchFile('lifeline-release');
  const started = scratchFile('lifeline-spinning');
  const parent = startScript(`
    const { writeFileSync, existsSync } = await import('node:fs');
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { configure } = await import('run-in-process');
    configure('orphans', { size: 1 });
    writeFileSync(${JSON.stringify(pidFile)}, String(await inPool('orphans').lifeline('reuse')));
    while (!existsSync(${JSON.stringify(release)})) await new Promise((resolve) => setTimeout(resolve, 20));
    inPool('orphans').spin(60_000, ${JSON.stringify(started)});`);
  let stderr = '';
  parent.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = once(parent, 'exit');
  try {
    const child = Number(await waitForFile(pidFile, 15_000));
    await waitFor(() => sentinelOf(child) !== undefined, 5_000);
    const sentinel = sentinelOf(child)!;
    for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGUSR1'] as const) process.kill(sentinel, signal);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(isAlive(sentinel), `the sentinel ignored them\n${stderr}`);
    // A sentinel started again would read the file now at fd 6, and take it for the parent's death.
    process.kill(sentinel, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.ok(isAlive(child), `the child lives on\n${stderr}`);
    assert.equal(sentinelOf(child), undefined, 'no sentinel is started again');
    writeFileSync(release, '');
    await waitForFile(started, 15_000);
    parent.kill('SIGKILL');
    await exited;
    assert.ok((await waitFor(() => !isAlive(child), 5_000)) !== undefined, `child ${child} outlived its parent`);
  } finally {
    parent.kill('SIGKILL');
  }
});
