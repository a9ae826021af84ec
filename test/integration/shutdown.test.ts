import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configure, PoolClosedError, shutdown } from 'run-in-process';
import { childPids, fixture, fixtureUrl, scratchFile, waitForFile } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { listChildrenCode, runScript } from '../helpers/scripts.js';

type PooledModule = typeof import('../fixtures/src/pooled.js');
const { inPool } = await fixture<PooledModule>('standard', 'pooled');

test('drains calls in flight, rejects what outlives the deadline, and leaves no child', async () => {
  configure('shutdown-drain', { size: 2 });
  const { hold, pid, spin } = inPool('shutdown-drain');
  const [quickStarted, release, slowStarted] = [scratchFile('quick'), scratchFile('release'), scratchFile('slow')];
  const quick = hold(quickStarted, release);
  const slow = rejectionOf(spin(20_000, slowStarted), PoolClosedError);
  await Promise.all([waitForFile(quickStarted), waitForFile(slowStarted)]);
  const closing = shutdown({ deadline: 1_000 });
  // The quick call is still running when shutdown() starts; it finishes within the deadline.
  writeFileSync(release, '');
  await closing;
  assert.equal(typeof (await quick), 'number');
  assert.equal((await slow).mayHaveRun, true, 'it was running');
  assert.deepEqual(childPids(), []);
  assert.equal(typeof (await pid()), 'number', 'a call after shutdown starts the pool again');
  await shutdown();
  assert.deepEqual(childPids(), []);
});

test('past its deadline, shutdown() settles about a second later, even with a stream to stop and a child deaf to SIGTERM', () => {
  const [log, release, started] = [scratchFile('deaf-log'), scratchFile('deaf-release'), scratchFile('deaf-started')];
  const run = runScript(
    `const { configure, shutdown } = await import('run-in-process');
     const { existsSync } = await import('node:fs');
     const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
     configure('shutdown-drain', { size: 2 });
     const pool = inPool('shutdown-drain');
     const stream = pool.stream(${JSON.stringify(log)}, 3, ${JSON.stringify(release)});
     await stream.next(); // one child holds the stream, which will not reach a yield when told to stop
     const stubborn = await pool.stubborn(); // the other ignores SIGTERM
     const spinning = pool.spin(20_000, ${JSON.stringify(started)}).then(() => 'ran', (error) => error.name);
     while (!existsSync(${JSON.stringify(started)})) await new Promise((resolve) => setTimeout(resolve, 10));
     const since = performance.now();
     await shutdown({ deadline: 0 });
     console.log(JSON.stringify({ ms: performance.now() - since, spinning: await spinning, stubborn }));`,
  );
  assert.equal(run.status, 0, run.report);
  const { ms, spinning } = JSON.parse(run.stdout) as { ms: number; spinning: string };
  assert.equal(spinning, 'PoolClosedError');
  // The stream's second of grace and the SIGTERM's are the same second: not one after the other (2 s).
  assert.ok(ms < 1_800, `shutdown({ deadline: 0 }) took ${Math.round(ms)} ms`);
});

test("a call made after shutdown(), while the pool's code still loads for a call made before it, starts the pool again", () => {
  const run = runScript(
    `const { configure, shutdown } = await import('run-in-process');
     const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
     configure('shutdown-drain', { size: 2 });
     const pool = inPool('shutdown-drain');
     // The first call of the process loads the pool's code; shutdown() and the next call come meanwhile.
     const before = pool.pid().then((pid) => typeof pid, (error) => error.name);
     const closing = shutdown({ deadline: 0 });
     const after = pool.pid().then((pid) => typeof pid, (error) => error.name + ': ' + error.message);
     await closing;
     console.log(JSON.stringify({ before: await before, after: await after }));
     await shutdown();`,
  );
  assert.equal(run.status, 0, run.report);
  const { before, after } = JSON.parse(run.stdout) as { before: string; after: string };
  assert.equal(before, 'PoolClosedError', run.report);
  assert.equal(after, 'number', run.report);
});

test('a stream whose first next() came just before shutdown() is closed with the pool, not started on a new one', () => {
  const run = runScript(
    `const { configure, shutdown, stats } = await import('run-in-process');
     const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
     configure('shutdown-drain', { size: 2 });
     const pool = inPool('shutdown-drain');
     await pool.pid();
     const call = pool.spin(200).then(() => 'ran', (error) => error.name);
     const first = pool.stream(${JSON.stringify(scratchFile('same-turn-log'))}, 3).next().then(() => 'item', (error) => error.name);
     await shutdown({ deadline: 0 });
     ${listChildrenCode}
     console.log(JSON.stringify({ call: await call, first: await first, running: stats('shutdown-drain').running, children: children.length }));`,
  );
  assert.equal(run.status, 0, run.report);
  assert.deepEqual(JSON.parse(run.stdout), {
    call: 'PoolClosedError',
    first: 'PoolClosedError',
    running: 0,
    children: 0,
  });
});

test('an idle pool does not keep the process alive', () => {
  const run = runScript(
    `const { Crasher } = await import(${JSON.stringify(fixtureUrl('standard', 'crashes'))});
     console.log(await Crasher.pid());`,
    { timeout: 15_000 },
  );
  assert.equal(run.status, 0, `the script did not exit on its own, without shutdown(): ${run.report}`);
  assert.match(run.stdout, /^\d+$/m, run.report);
});

test('shutdown() right after a first call, while the pool machinery loads, still closes that call', () => {
  const run = runScript(
    `const { shutdown, stats } = await import('run-in-process');
     const { Crasher } = await import(${JSON.stringify(fixtureUrl('standard', 'crashes'))});
     const call = Crasher.spin(2_000).then(() => 'resolved', (error) => error.name);
     await shutdown({ deadline: 0 });
     console.log(await call, JSON.stringify(stats().children));`,
    { timeout: 15_000 },
  );
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout.trim(), 'PoolClosedError {"busy":0,"idle":0,"starting":0,"recycled":0}', run.report);
});

/** Script code that prints, as JSON, the pids of the script's live child processes. */
const printChildren = `${listChildrenCode}
  console.log(JSON.stringify(children));`;

test('shutdown() during warmUp() ends the warm-up: no ping is sent after it, and no child outlives it', () => {
  const run = runScript(
    `const { configure, shutdown, warmUp } = await import('run-in-process');
     const { setTimeout: sleep } = await import('node:timers/promises');
     configure({ size: 1, minChildren: 1, preload: [${JSON.stringify(fixtureUrl('standard', 'slow-first-task'))}],
       env: { ...process.env, SLOW_TASK: 'batch', SLOW_TASK_MS: '4000' } });
     const warming = warmUp().then(() => 'resolved', (error) => error.name);
     await sleep(1_500); // the child booted, warmed itself, and blocks on the warm-up's first ping
     await shutdown({ deadline: 300 });
     await sleep(700);
     console.log(await Promise.race([warming, sleep(3_000).then(() => 'pending')]));
     ${printChildren}`,
    { timeout: 20_000 },
  );
  assert.equal(run.status, 0, `the script did not exit on its own: ${run.report}`);
  const [warming, children] = run.stdout.trim().split('\n');
  assert.equal(warming, 'PoolClosedError', run.report);
  assert.equal(children, '[]', run.report);
});

test('an isolated pool with minChildren leaves no child after shutdown()', () => {
  const run = runScript(
    `const { configure, shutdown } = await import('run-in-process');
     const { Crasher } = await import(${JSON.stringify(fixtureUrl('standard', 'crashes'))});
     const { setTimeout: sleep } = await import('node:timers/promises');
     for (let round = 0; round < 3; round++) {
       configure({ size: 1, minChildren: 1, isolate: true });
       await Crasher.pid();
       await shutdown();
     }
     await sleep(500);
     ${printChildren}`,
    { timeout: 20_000 },
  );
  assert.equal(run.status, 0, `the script did not exit on its own: ${run.report}`);
  assert.equal(run.stdout.trim(), '[]', run.report);
});

test('a worker thread that ends reaps the children of its pools, and the reaper of its sandboxed ones', () => {
  // Node reaps a child only in the thread that started it: one still alive as its thread ends stays a
  // zombie of the process for good (nodejs/node#46569). One thread leaves its pools running; one
  // shuts them down first, which leaves the reaper lingering (two seconds) as the thread ends; one is
  // terminated once its shutdown() has settled.
  const fixtures = dirname(fileURLToPath(fixtureUrl('standard', 'sandboxed')));
  const sandboxed = process.allowedNodeEnvironmentFlags.has('--disable-sigusr1');
  const thread = `(async () => {
    const { configure, shutdown } = await import('run-in-process');
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { inSandbox } = await import(${JSON.stringify(fixtureUrl('standard', 'sandboxed'))});
    configure('shutdown-drain', { size: 2, minChildren: 2 });
    await Promise.all([inPool('shutdown-drain').pid(), inPool('shutdown-drain').pid()]);
    if (${sandboxed}) {
      configure('sandbox', { size: 1, permissions: { fsRead: [${JSON.stringify(fixtures)}] } });
      await inSandbox('sandbox').read(${JSON.stringify(fileURLToPath(fixtureUrl('standard', 'sandboxed')))});
    }
    const { parentPort, workerData } = await import('node:worker_threads');
    if (workerData !== 'left running') await shutdown();
    if (workerData === 'terminated') parentPort.postMessage('shut down');
  })()`;
  const run = runScript(
    `const { Worker } = await import('node:worker_threads');
     const { readdirSync, readFileSync } = await import('node:fs');
     const { once } = await import('node:events');
     for (const workerData of ['left running', 'shut down', 'terminated']) {
       const worker = new Worker(${JSON.stringify(thread)}, { eval: true, workerData });
       const exited = once(worker, 'exit');
       // Ended from outside once its shutdown() has settled: that must have waited for the reaper too.
       if (workerData === 'terminated') await once(worker, 'message').then(() => worker.terminate());
       const [code] = await exited;
       // A thread terminated as it was ending on its own exits with 0.
       if (code !== 0 && !(workerData === 'terminated' && code === 1)) throw new Error('the thread exited with ' + code);
     }
     await new Promise((resolve) => setTimeout(resolve, 500));
     // Zombies included: what this process started and has not reaped.
     const left = readdirSync('/proc').filter((entry) => /^\\d+$/.test(entry)).flatMap((entry) => {
       try {
         const stat = readFileSync('/proc/' + entry + '/stat', 'utf8');
         const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
         return Number(fields[1]) === process.pid ? [stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) + ' ' + fields[0]] : [];
       } catch { return []; }
     });
     console.log(JSON.stringify(left));`,
    // A sandboxed pool in a thread needs the process's inspector shut (shared/inspector-guard.ts), which
    // Node 20 cannot.
    { timeout: 30_000, nodeArgs: sandboxed ? ['--disable-sigusr1'] : [] },
  );
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout.trim(), '[]', run.report);
});

test('a parent that dropped its privileges after its children started still stops them, at a timeout and at shutdown()', {
  skip: process.getuid?.() !== 0 && 'needs root, to drop privileges',
}, () => {
  // Started as root, the child stays root: this process may no longer signal it (EPERM), which tinypool
  // answered by killing it again without end, until this process's stack overflowed. A sandboxed pool's
  // children have no sentinel, and their reaper, root too, could no longer be let go on (SIGCONT).
  const fixtures = dirname(fileURLToPath(fixtureUrl('standard', 'crashes')));
  for (const sandboxed of [false, true]) {
    const run = runScript(
      `const { configure, shutdown, withCallOptions } = await import('run-in-process');
     const { Crasher } = await import(${JSON.stringify(fixtureUrl('standard', 'crashes'))});
     configure({ size: 2${sandboxed ? `, permissions: { fsRead: [${JSON.stringify(fixtures)}] }` : ''} });
     await Promise.all([Crasher.spin(300), Crasher.spin(300)]); // two children, as root
     process.setgid(65534);
     process.setuid(65534);
     // One is killed at the timeout, the other at shutdown().
     console.log(await withCallOptions({ timeout: 300 }, () => Crasher.spin(20_000)).then(() => 'resolved', (error) => error.name));
     await shutdown({ deadline: 200 });
     ${listChildrenCode}
     // The sandboxed pools' reaper lingers two seconds for children to come: not a child of a pool.
     console.log(JSON.stringify(children.filter((pid) => !readFile('/proc/' + pid + '/cmdline', 'utf8').includes('run-in-process-reaper'))));`,
      { timeout: 20_000 },
    );
    assert.equal(run.status, 0, run.report);
    assert.equal(run.stdout.trim(), 'TimeoutError\n[]', run.report);
    assert.match(run.stderr, /RUN_IN_PROCESS_CHILD_OUT_OF_REACH/, run.report);
  }
});

test("a thread's shutdown() settles, and the thread ends, when a child stopped the sandboxed pools' reaper after the parent dropped its privileges", {
  skip:
    process.getuid?.() !== 0
      ? 'needs root, to drop privileges'
      : !process.allowedNodeEnvironmentFlags.has('--disable-sigusr1') &&
        'a sandboxed pool in a thread needs --disable-sigusr1 (Node 22.14 and later)',
}, () => {
  // The reaper, root as the parent was, may then be neither resumed (SIGCONT) nor killed by it: the
  // thread waited for its exit for ever, its shutdown() unsettled.
  const fixtures = dirname(fileURLToPath(fixtureUrl('standard', 'pooled')));
  const run = runScript(
    `const { Worker } = await import('node:worker_threads');
     const { once } = await import('node:events');
     const thread = new Worker(\`
       (async () => {
         const { parentPort } = await import('node:worker_threads');
         const { once } = await import('node:events');
         const { readdirSync, readFileSync } = await import('node:fs');
         const { configure, shutdown } = await import('run-in-process');
         const { inPool } = await import(\${JSON.stringify(${JSON.stringify(fixtureUrl('standard', 'pooled'))})});
         configure('reaper-stopped', { size: 1, permissions: { fsRead: [\${JSON.stringify(${JSON.stringify(fixtures)})}] } });
         const { pid, stopProcess } = inPool('reaper-stopped');
         await pid(); // The child starts, and the reaper with it.
         const reaper = readdirSync('/proc').filter((entry) => /^\\\\d+$/.test(entry)).find((entry) => {
           // Not this script, whose own command line holds these words.
           try { const command = readFileSync('/proc/' + entry + '/cmdline', 'utf8'); return command.startsWith('/bin/sh') && command.includes('run-in-process-reaper'); } catch { return false; }
         });
         parentPort.postMessage(Number(reaper));
         await once(parentPort, 'message'); // The parent has dropped its privileges.
         await stopProcess(Number(reaper));
         await shutdown({ deadline: 500 });
         parentPort.postMessage('settled');
       })();\`, { eval: true });
     const [reaper] = await once(thread, 'message');
     process.setgid(65534);
     process.setuid(65534);
     thread.postMessage('go');
     const settled = once(thread, 'message').then(() => 'settled');
     const ended = once(thread, 'exit').then(() => 'ended');
     const late = (what) => new Promise((resolve) => setTimeout(() => resolve(what + ' not after 10 s'), 10_000).unref());
     console.log(await Promise.race([settled, late('settled')]), await Promise.race([ended, late('ended')]));
     // Root, stopped: this process may no longer end it; the test does.
     console.log(reaper);
     process.exit(0);`,
    { timeout: 30_000, nodeArgs: ['--disable-sigusr1'] },
  );
  const [outcome, reaper] = run.stdout.trim().split('\n');
  if (Number(reaper) > 0) {
    try {
      process.kill(Number(reaper), 'SIGKILL');
    } catch {}
  }
  assert.equal(run.status, 0, run.report);
  assert.equal(outcome, 'settled ended', run.report);
  assert.match(run.stderr, /the reaper of the sandboxed pools \(pid \d+\) did not end when told to/, run.report);
});
