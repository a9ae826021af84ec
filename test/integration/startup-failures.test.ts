import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ChildStartupError, configure, ModuleLoadError, shutdown, stats, withCallOptions } from 'run-in-process';
import { fixture, fixtureUrl, repoRoot, scratchFile } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { runScript } from '../helpers/scripts.js';

// Children that cannot start, and declaring modules that a child cannot load.

type BrokenModule = typeof import('../fixtures/src/broken-at-import.js');
type ReplacesPromiseModule = typeof import('../fixtures/src/replaces-promise.js');
type ReplacesPromiseOtherModule = typeof import('../fixtures/src/replaces-promise-other.js');
type ConditionalTargetModule = typeof import('../fixtures/src/conditional-target.js');
type ExportsThenModule = Pick<typeof import('../fixtures/src/exports-then.js'), 'Thenable'>;
type FlaggedModule = typeof import('../fixtures/src/flagged.js');
type PooledModule = typeof import('../fixtures/src/pooled.js');

after(() => shutdown());

const nodeMajor = Number(process.versions.node.split('.')[0]);

test('bad exec flags reject every call promptly; the pool works after the fix', async () => {
  configure('flags', { execArgv: ['--definitely-not-a-node-flag'], size: 2 });
  const { flagged } = await fixture<FlaggedModule>('standard', 'flagged');
  const results = await Promise.allSettled([flagged(), flagged(), flagged()]);
  for (const result of results) {
    assert.equal(result.status, 'rejected');
    assert.ok(result.reason instanceof ChildStartupError, String(result.reason));
    assert.match(result.reason.message, /before it was ready.*Its Node flags were: --definitely-not-a-node-flag\./s);
    assert.match(result.reason.stderr, /bad option/);
  }
  configure('flags', { size: 2 });
  assert.notEqual(await flagged(), process.pid);
});

/**
 * The first call of a pool whose child runs `code` (an `--import` of it) before the runner, while
 * its preload never finishes importing: the ChildStartupError it fails with. The pool then works
 * again once configured without it.
 */
async function bootFailure(code: string, check: (error: ChildStartupError) => void): Promise<void> {
  configure('flags', {
    execArgv: ['--import', `data:text/javascript,${code}`],
    preload: [new URL('../../fixtures/standard/hangs-at-import.js', import.meta.url).href],
    size: 1,
  });
  const { flagged } = await fixture<FlaggedModule>('standard', 'flagged');
  check(await rejectionOf(flagged(), ChildStartupError));
  configure('flags', { size: 2 });
  assert.notEqual(await flagged(), process.pid);
}

/** Runs an inline ES module script in a Node process allowed 256 open descriptors, which it may use up. */
function withFewDescriptors(script: string) {
  return spawnSync('bash', ['-c', 'ulimit -n 256 && exec "$0" --input-type=module -e "$1"', process.execPath, script], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

test('out of file descriptors, a child that cannot be started fails its call, saying why, and the parent lives on', () => {
  // Node emits such a fork's error a tick later, on a ChildProcess nothing listened to then: an
  // uncaught 'error' ended the parent. A sandboxed pool also starts a reaper, which must fail as well.
  for (const sandboxed of [false, true]) {
    const script = `
      import { openSync, closeSync } from 'node:fs';
      const { configure, shutdown } = await import('run-in-process');
      const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
      configure('fork-refused', { size: 1${sandboxed ? `, permissions: { fsRead: [${JSON.stringify(repoRoot)}] }` : ''} });
      const { pid } = inPool('fork-refused');
      await pid(); // the pool's own code, loaded while there are descriptors (Node keeps a failed import failed)
      await shutdown();
      const held = [];
      try { for (;;) held.push(openSync('/dev/null', 'r')); } catch {}
      for (let i = 0; i < 6; i++) closeSync(held.pop());
      try { await pid(); console.log('ran'); } catch (error) { console.log('refused:', error.name, error.message); }
      for (const fd of held) closeSync(fd);
      console.log('then:', typeof (await pid()));
      await shutdown();`;
    const run = withFewDescriptors(script);
    const report = `sandboxed: ${sandboxed}\n${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 0, report);
    assert.match(run.stdout, /^refused: ChildStartupError A child process could not be started: .*EMFILE/m, report);
    assert.match(run.stdout, /^then: number$/m, report);
  }
});

test('out of file descriptors at the very first call, which loads the pool code: it fails, and the next call loads it and runs', {
  skip:
    Number(process.versions.node.split('.')[0]) < 22 &&
    'Node 20 keeps a failed import failed, and gives its error again',
}, () => {
  const script = `
    import { openSync, closeSync } from 'node:fs';
    const { configure, shutdown } = await import('run-in-process');
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    configure('fork-refused', { size: 1 });
    const { pid } = inPool('fork-refused');
    const held = [];
    try { for (;;) held.push(openSync('/dev/null', 'r')); } catch {}
    try { await pid(); console.log('ran'); } catch (error) { console.log('first:', error.name, error.message); }
    for (const fd of held) closeSync(fd);
    console.log('then:', typeof (await pid()));
    await shutdown();`;
  const run = withFewDescriptors(script);
  const report = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, report);
  assert.match(run.stdout, /^first: .*EMFILE/m, report);
  assert.match(run.stdout, /^then: number$/m, report);
});

test('out of file descriptors while another child runs a call, a call for a new child waits, and runs once they are back', () => {
  // The refused fork leaves a child alive, busy: the call is neither failed nor left waiting for it;
  // a child is tried again a second later.
  const [started, release] = [scratchFile('held-started'), scratchFile('held-release')];
  const script = `
    import { openSync, closeSync, writeFileSync } from 'node:fs';
    const { configure, shutdown } = await import('run-in-process');
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    configure('fork-refused', { size: 2 });
    const { hold, pid } = inPool('fork-refused');
    const held = hold(${JSON.stringify(started)}, ${JSON.stringify(release)});
    while (true) { try { closeSync(openSync(${JSON.stringify(started)}, 'r')); break; } catch { await new Promise((r) => setTimeout(r, 10)); } }
    const fds = [];
    try { for (;;) fds.push(openSync('/dev/null', 'r')); } catch {}
    for (let i = 0; i < 6; i++) closeSync(fds.pop());
    const call = pid();
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const fd of fds) closeSync(fd);
    console.log('call:', await Promise.race([call.then(() => 'answered'), new Promise((r) => setTimeout(r, 5_000, 'no answer'))]));
    writeFileSync(${JSON.stringify(release)}, '');
    await held;
    await shutdown();`;
  const run = withFewDescriptors(script);
  const report = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, report);
  assert.match(run.stdout, /^call: answered$/m, report);
});

test('a child stopped for what it said while booting fails its calls saying what that was, not only the signal', async () => {
  // It says it could not import a module the pool does not preload.
  await bootFailure(
    'process.send(["run-in-process:preload-failed","file:///nothing.mjs",["value",new Uint8Array([1])]])',
    (error) =>
      assert.match(
        error.message,
        /was stopped before it was ready to take calls: it said it could not import a module it was not importing/,
      ),
  );
});

test('a child that throws as it starts (its own uncaught error, reported on its IPC channel, not on stderr) says what it threw', async () => {
  // Thrown from a timer once the child runs the pool's code.
  await bootFailure('setTimeout(() => { throw new RangeError("thrown as the child starts") }, 300)', (error) => {
    assert.match(
      error.message,
      /exited with code 70 before it was ready to take calls\. It threw as it started: RangeError: thrown as the child starts/,
    );
    assert.ok(error.cause instanceof RangeError, String(error.cause));
  });
});

test("a child that fails to boot with a long report on stderr: its error's line is in the message, above the last lines", async () => {
  // Thrown at the top of an --import module, before the runner: Node prints it on stderr, its name
  // and message first, then the message's 20 more lines and the stack, and exits.
  const code =
    'throw new TypeError(["deep boot failure", ...Array.from({ length: 20 }, (_, i) => "detail " + i)].join("\\n"));';
  configure('flags', { execArgv: ['--import', `data:text/javascript,${encodeURIComponent(code)}`], size: 1 });
  const { flagged } = await fixture<FlaggedModule>('standard', 'flagged');
  const error = await rejectionOf(flagged(), ChildStartupError);
  const tail = error.message.slice(error.message.indexOf('Last lines of its stderr:')).split('\n');
  assert.deepEqual(
    tail.slice(0, 3),
    ['Last lines of its stderr:', '  | TypeError: deep boot failure', '  | …'],
    error.message,
  );
  assert.equal(tail.length, 15, error.message);
  assert.match(tail.at(-1)!, /^ {2}\| Node\.js v/, error.message);
  configure('flags', { size: 2 });
  assert.notEqual(await flagged(), process.pid);
});

test('a startTimeout shorter than a boot fails calls saying so, not blaming a preload the pool does not have', async () => {
  configure('flags', { startTimeout: 5, size: 1 });
  const { flagged } = await fixture<FlaggedModule>('standard', 'flagged');
  const error = await rejectionOf(flagged(), ChildStartupError);
  assert.match(error.message, /within startTimeout \(5 ms\).*startTimeout is 5 ms: raise it/s);
  assert.doesNotMatch(error.message, /preload/);
  configure('flags', { size: 2 });
  assert.notEqual(await flagged(), process.pid);
});

test('a module that exports `then` is imported in a child, its `then` not called', {
  skip: nodeMajor >= 22 ? false : 'on Node 20 a child imports modules with import() alone (module-cache.ts)',
}, async () => {
  configure('exports-then', { size: 1 });
  const { Thenable } = await fixture<ExportsThenModule>('standard', 'exports-then');
  const pid = await withCallOptions({ timeout: 10_000 }, () => Thenable.pid());
  assert.equal(typeof pid, 'number');
  assert.notEqual(pid, process.pid);
});

test('a child whose code replaced the global Promise (a polyfill) still imports another module for its first call', async () => {
  // The import's promise was told from a loaded module by `instanceof Promise`: with the global
  // replaced, it was taken for one, and the call failed as a module that registered nothing.
  configure('replaced-promise', { size: 1 });
  const { replacePromise } = await fixture<ReplacesPromiseModule>('standard', 'replaces-promise');
  const { fromOtherModule } = await fixture<ReplacesPromiseOtherModule>('standard', 'replaces-promise-other');
  assert.equal(await replacePromise(), 'replaced');
  assert.equal(await fromOtherModule(), 'other module');
});

test('a call to a target its loaded module does not hold fails, and leaves its child to the next calls', async () => {
  configure('conditional-target', { size: 1 });
  const { everywhere, parentOnly } = await fixture<ConditionalTargetModule>('standard', 'conditional-target');
  const child = await everywhere();
  for (let i = 0; i < 2; i++) {
    const error = await rejectionOf(parentOnly!(), ModuleLoadError);
    assert.match(error.message, /No function "parentOnly" is wrapped/);
  }
  // The same child: the module loaded there, and nothing in it is amiss.
  assert.equal(await everywhere(), child);
  assert.equal(stats('conditional-target').children.recycled, 0);
});

test('a fork the system refuses at once (E2BIG: a huge string put in process.env at run time) fails its calls, and the pool recovers once it is gone', {
  skip: process.platform === 'linux' ? false : "the limit is Linux's",
}, async () => {
  // fork() threw, in tinypool, which lost a worker slot for good: every later call failed with its
  // "Cannot read properties of undefined (reading 'toString')", after the string was gone too.
  configure('e2big', { size: 1 });
  const { pid } = (await fixture<PooledModule>('standard', 'pooled')).inPool('e2big');
  process.env['RUN_IN_PROCESS_TEST_HUGE'] = 'x'.repeat(200_000);
  try {
    for (let i = 0; i < 2; i++) {
      const error = await rejectionOf(pid(), ChildStartupError);
      assert.match(error.message, /could not be started: the system refused its environment or arguments \(E2BIG\)/);
    }
  } finally {
    delete process.env['RUN_IN_PROCESS_TEST_HUGE'];
  }
  assert.equal(typeof (await pid()), 'number');
});

/**
 * A script that puts itself under a process limit that leaves a child three threads, then calls a
 * target: `ulimit -u` (RLIMIT_NPROC, which binds any user but root: the script becomes a user of its
 * own first) or a cgroup v1 `pids.max` (`dir`, which it joins). It prints the call's error.
 */
function underProcessLimit(limit: 'ulimit' | 'cgroup', dir = ''): string {
  return `import { execFileSync } from 'node:child_process';
    import { readFileSync, writeFileSync } from 'node:fs';
    import { readFile } from 'node:fs/promises';
    const { configure, shutdown } = await import('run-in-process');
    const { flagged } = await import(${JSON.stringify(fixtureUrl('standard', 'flagged'))});
    await readFile('/proc/self/status'); // libuv starts its threads for that: before the limit, not under it
    const threads = Number(readFileSync('/proc/self/status', 'utf8').match(/^Threads:\\s+(\\d+)/m)[1]);
    if (${JSON.stringify(limit)} === 'ulimit') {
      execFileSync('prlimit', ['--pid', String(process.pid), '--nproc=' + (threads + 3) + ':' + (threads + 3)]);
      process.setgid(60123);
      process.setuid(60123);
    } else {
      writeFileSync(${JSON.stringify(`${dir}/cgroup.procs`)}, String(process.pid));
      writeFileSync(${JSON.stringify(`${dir}/pids.max`)}, String(threads + 3));
    }
    configure('flags', { size: 1, startTimeout: 1000 }); // it never boots: the time is all waiting
    console.log(await flagged().then(() => 'resolved', (error) => error.name + ': ' + error.message));
    await shutdown({ deadline: 2000 });`;
}

test('a child that cannot start its threads under the process limit (ulimit -u) fails saying so, not blaming a module', {
  skip:
    process.platform !== 'linux' || process.getuid?.() !== 0
      ? 'needs Linux and root (to become a user whose process count is its own)'
      : spawnSync('prlimit', ['--version']).error
        ? 'needs prlimit (util-linux)'
        : // That user's script and child read the library and the fixtures (a clone in a 0700 folder cannot).
          spawnSync('setpriv', [
            '--reuid=60123',
            '--regid=60123',
            '--clear-groups',
            'test',
            '-r',
            join(repoRoot, 'dist', 'index.js'),
          ]).status !== 0 && 'needs the repository readable by another user (it runs as one)',
}, () => {
  // Node's child hung before running any code (its platform waits for threads that never started),
  // or aborted: the message said a module of its flags may never finish loading.
  const run = runScript(underProcessLimit('ulimit'), { timeout: 30_000 });
  assert.equal(run.status, 0, run.report);
  assert.match(
    run.stdout,
    /^ChildStartupError: .*The process limit may be why: this user \(uid 60123\) runs \d+ processes and threads of the \d+ that its `ulimit -u` allows.*Lower the pool's size/m,
    run.report,
  );
  assert.doesNotMatch(run.stdout, /may never finish loading/, run.report);
});

test("a child that cannot start its threads under a cgroup's pids.max (a container's pid limit) fails saying so", (t) => {
  const dir = `/sys/fs/cgroup/pids/run-in-process-test-${process.pid}`;
  try {
    mkdirSync(dir);
  } catch (error) {
    t.skip(`no cgroup v1 pids hierarchy this process may write (${(error as Error).message})`);
    return;
  }
  try {
    const run = runScript(underProcessLimit('cgroup', dir), { timeout: 30_000 });
    assert.equal(run.status, 0, run.report);
    assert.match(
      run.stdout,
      new RegExp(
        `^ChildStartupError: .*The process limit may be why: the cgroup /run-in-process-test-${process.pid} allows \\d+ processes and threads \\(pids.max`,
        'm',
      ),
      run.report,
    );
  } finally {
    rmdirSync(dir); // Empty once the script has ended, with its children.
  }
});

test("a Node binary gone since the app started (process.execPath: a version manager removed it) fails calls saying so, with the spawn's error as cause", () => {
  // The spawn's own error (ENOENT) was dropped, and the message guessed at descriptors or processes.
  const run = runScript(`const { shutdown } = await import('run-in-process');
    const { pid } = (await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))})).inPool('node-gone');
    const real = process.execPath;
    process.execPath = '/nonexistent/run-in-process-test/node';
    console.log(await pid().then(() => 'ran', (error) => error.name + ' ' + error.cause?.code + ' ' + error.message));
    process.execPath = real;
    console.log(typeof (await pid()));
    await shutdown();`);
  assert.equal(run.status, 0, run.report);
  const [failed, after] = run.stdout.trim().split('\n');
  assert.match(
    failed ?? '',
    /^ChildStartupError ENOENT A child process could not be started: Node's binary could not be run \(spawn \/nonexistent\/run-in-process-test\/node ENOENT\): .* is gone or not executable/,
    run.report,
  );
  assert.equal(after, 'number', run.report);
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
