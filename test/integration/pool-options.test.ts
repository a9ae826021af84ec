import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { setTimeout as delay } from 'node:timers/promises';
import { after, test } from 'node:test';
import { configure, shutdown, stats } from 'run-in-process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fixture, fixtureUrl, scratchFile, waitFor, waitForFile } from '../helpers/fixtures.js';
import { runScript } from '../helpers/scripts.js';
import { captureWarnings } from '../helpers/warnings.js';

// What configure() sets, pool by pool: each test configures a pool of its own (test/fixtures/src/module-state.ts).

type StateModule = typeof import('../fixtures/src/module-state.js');
type UnconfiguredModule = typeof import('../fixtures/src/unconfigured.js');
type PooledModule = typeof import('../fixtures/src/pooled.js');
const { Stateful, HeapHog } = await fixture<StateModule>('standard', 'module-state');
const { inPool } = await fixture<PooledModule>('standard', 'pooled');

after(() => shutdown());

test('a pool name that was never configured warns once, then runs with the default options', async () => {
  const { misnamed } = await fixture<UnconfiguredModule>('standard', 'unconfigured');
  const { result: pids, warnings } = await captureWarnings(async () => [await misnamed(), await misnamed()]);
  assert.ok(pids.every((pid) => pid !== process.pid));
  assert.deepEqual(
    warnings.map((w) => w.code),
    ['RUN_IN_PROCESS_UNCONFIGURED_POOL'],
  );
  assert.match(warnings[0]!.message, /Pool "never-configured" was never configured.*configure\('never-configured'/s);
});

test('a pool configured in the same turn as its first call, in a fresh process, runs that call with its options and no warning', () => {
  // A fresh process: the first call of all waits for the pool machinery to load, which is when
  // the pool's options are read; the call's timeout was read when it was made.
  const run = runScript(`
    const { configuredLate } = await import(${JSON.stringify(fixtureUrl('standard', 'unconfigured'))});
    const { configure, shutdown, TimeoutError } = await import('run-in-process');
    const warnings = [];
    process.on('warning', (warning) => warnings.push(warning.code));
    const { tracingChannel } = await import('node:diagnostics_channel');
    const contexts = [];
    const ignore = () => {};
    tracingChannel('run-in-process:call').subscribe({
      start: (context) => contexts.push(context), end: ignore, asyncStart: ignore, asyncEnd: ignore, error: ignore,
    });
    const first = configuredLate(0);
    const slow = configuredLate(5_000).catch((error) => error instanceof TimeoutError ? 'timed out' : String(error));
    configure('configured-late', { size: 2, timeout: 1_000, env: { CONFIGURED_LATE: 'yes' } });
    const outcomes = { first: await first, slow: await slow };
    const traced = contexts.map((context) => context.timeout);
    console.log(JSON.stringify({ ...outcomes, warnings, traced }));
    await shutdown();`);
  assert.equal(run.status, 0, run.report);
  // The trace contexts, made as the calls were, have the pool's timeout once it is known.
  assert.deepEqual(
    JSON.parse(run.stdout),
    { first: 'yes', slow: 'timed out', warnings: [], traced: [1_000, 1_000] },
    run.report,
  );
});

test("configure() again while calls wait for a child: they go to the new pool's children, not behind a call that holds the old one", {
  timeout: 30_000,
}, async () => {
  configure('reconfigure-waiting', { size: 1 });
  const { hold, step } = inPool('reconfigure-waiting');
  const [started, release, log] = [scratchFile('holder-started'), scratchFile('holder-released'), scratchFile('steps')];
  const holding = hold(started, release);
  await waitForFile(started);
  const waiting = [0, 1, 2, 3].map((index) => step(log, index, 'value'));
  assert.ok(
    (await waitFor(() => stats('reconfigure-waiting').queued === 4, 5_000)) !== undefined,
    `the four wait behind the one that holds the only child: ${JSON.stringify(stats('reconfigure-waiting'))}`,
  );
  configure('reconfigure-waiting', { size: 2 });
  const done = await Promise.all(waiting);
  assert.deepEqual(
    done.map(({ index }) => index),
    [0, 1, 2, 3],
  );
  assert.ok(!existsSync(release), 'answered while the first call still holds the old child');
  assert.deepEqual(
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => Number(line.split(' ')[0]))
      .sort(),
    [0, 1, 2, 3],
  );
  writeFileSync(release, '');
  assert.ok((await holding) > 0, 'the call in flight finishes on the old child');
  const { queued, running, completed } = stats('reconfigure-waiting');
  assert.deepEqual({ queued, running, completed }, { queued: 0, running: 0, completed: 5 });
});

test('configure() twice in a row while calls wait for a child: they all run with the last options, none with those in between', () => {
  const run = runScript(`
    const { configure, shutdown } = await import('run-in-process');
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { existsSync, writeFileSync } = await import('node:fs');
    const [started, release] = ${JSON.stringify([scratchFile('holder-started'), scratchFile('holder-released')])};
    configure('reconfigure-waiting', { size: 1, env: { RIP_OPTIONS: 'A' } });
    const { hold, environment } = inPool('reconfigure-waiting');
    const holding = hold(started, release);
    while (!existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 10));
    const waiting = Array.from({ length: 6 }, () => environment('RIP_OPTIONS'));
    // The first new pool adopts the waiting calls and boots a child for them; the second replaces it
    // before that child is ready, and must take them all, not leave some with a child of the first.
    configure('reconfigure-waiting', { size: 1, env: { RIP_OPTIONS: 'B' } });
    await new Promise((resolve) => setTimeout(resolve, 5));
    configure('reconfigure-waiting', { size: 1, env: { RIP_OPTIONS: 'C' } });
    const seen = (await Promise.all(waiting)).map((result) => result.value);
    writeFileSync(release, '');
    await holding;
    console.log(JSON.stringify(seen));
    await shutdown();`);
  assert.equal(run.status, 0, run.report);
  assert.deepEqual(JSON.parse(run.stdout), ['C', 'C', 'C', 'C', 'C', 'C'], run.report);
});

test('configure() again and again faster than a child boots, changing only timeout and maxQueue: the waiting calls run on the pool as it is', async () => {
  // Each configure() started the pool over: the waiting calls moved to a new pool, whose booting
  // child was dropped by the next one, so they never ran.
  configure('reconfigure-limits', { size: 2, timeout: 5_000 });
  const { hold, pid } = inPool('reconfigure-limits');
  let changes = 0;
  const retune = setInterval(() => {
    changes++;
    configure('reconfigure-limits', { size: 2, timeout: 5_000 + changes, maxQueue: 100 + changes });
  }, 5);
  try {
    const calls = Promise.all(Array.from({ length: 4 }, () => pid()));
    const ran = await Promise.race([calls, delay(10_000).then(() => 'still waiting after 10 s')]);
    assert.ok(
      Array.isArray(ran),
      `${String(ran)}, after ${changes} configure() calls: ${JSON.stringify(stats('reconfigure-limits'))}`,
    );
    assert.ok(changes > 0);
  } finally {
    clearInterval(retune);
  }
  // The pool as it is takes the new maxQueue: one child holds the call, another waits, a third is refused.
  configure('reconfigure-limits', { size: 1, timeout: 5_000 });
  const started = scratchFile('retune-started');
  const release = scratchFile('retune-release');
  const holding = hold(started, release);
  await waitForFile(started);
  const waiting = pid();
  configure('reconfigure-limits', { size: 1, timeout: 5_000, maxQueue: 1 });
  await assert.rejects(pid(), { code: 'ERR_QUEUE_FULL', limit: 1 });
  writeFileSync(release, '');
  assert.equal(typeof (await holding), 'number');
  assert.equal(typeof (await waiting), 'number');
});

test("configure() again with minChildren while a call waits: the call takes the new pool's warm child, and no other child is started for it", () => {
  const run = runScript(`
    const { configure, shutdown, stats } = await import('run-in-process');
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { existsSync, writeFileSync } = await import('node:fs');
    const [started, release] = ${JSON.stringify([scratchFile('holder-started'), scratchFile('holder-released')])};
    configure('reconfigure-waiting', { size: 1, minChildren: 1, env: { RIP_OPTIONS: 'A' } });
    const { hold, environment } = inPool('reconfigure-waiting');
    const holding = hold(started, release);
    while (!existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 10));
    const waiting = environment('RIP_OPTIONS');
    configure('reconfigure-waiting', { size: 2, minChildren: 1, env: { RIP_OPTIONS: 'B' } });
    const seen = (await waiting).value;
    // The warm-up's ping went after the call, not before it to the one ready child.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { busy, idle, starting } = stats('reconfigure-waiting').children;
    writeFileSync(release, '');
    await holding;
    console.log(JSON.stringify({ seen, children: busy + idle + starting }));
    await shutdown();`);
  assert.equal(run.status, 0, run.report);
  assert.deepEqual(JSON.parse(run.stdout), { seen: 'B', children: 1 }, run.report);
});

test('configure() again with an environment too large to start a child while calls wait: they fail, and shutdown() settles', () => {
  const run = runScript(`
    const { configure, shutdown } = await import('run-in-process');
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { existsSync, writeFileSync } = await import('node:fs');
    const [started, release] = ${JSON.stringify([scratchFile('holder-started'), scratchFile('holder-released')])};
    configure('reconfigure-waiting', { size: 1 });
    const { hold, environment } = inPool('reconfigure-waiting');
    const holding = hold(started, release);
    while (!existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 10));
    const waiting = [0, 1].map(() => environment('RIP_OPTIONS').then(() => 'ran', (error) => error.name));
    // Over Linux's 2 MiB for the whole environment (each string under its 128 KiB, which configure()
    // refuses): the fork throws at once (E2BIG).
    const big = Object.fromEntries(Array.from({ length: 24 }, (_, index) => ['RIP_BIG_' + index, 'x'.repeat(120_000)]));
    configure('reconfigure-waiting', { size: 1, env: big });
    const seen = await Promise.all(waiting);
    writeFileSync(release, '');
    await holding;
    const closed = await Promise.race([
      shutdown({ deadline: 1_000 }).then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still closing after 5 s'), 5_000).unref()),
    ]);
    console.log(JSON.stringify({ seen, closed }));
    process.exit(0);`);
  assert.equal(run.status, 0, run.report);
  const { seen, closed } = JSON.parse(run.stdout) as { seen: string[]; closed: string };
  assert.equal(closed, 'closed', run.report);
  assert.equal(seen.length, 2, run.report);
  for (const outcome of seen) assert.notEqual(outcome, 'ran', run.report);
});

test('configure() again with options that cannot make a pool here leaves the waiting calls where they were: they still run', () => {
  const run = runScript(`
    const { configure, shutdown, stats } = await import('run-in-process');
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { existsSync, writeFileSync } = await import('node:fs');
    const [started, release, log] = ${JSON.stringify([scratchFile('holder-started'), scratchFile('holder-released'), scratchFile('steps')])};
    configure('reconfigure-waiting', { size: 1 });
    const { hold, step } = inPool('reconfigure-waiting');
    const holding = hold(started, release);
    while (!existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 10));
    const waiting = [0, 1].map((index) => step(log, index, 'value'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Read as a pool starts: a value it does not know makes every new pool fail.
    process.env.RUN_IN_PROCESS_INLINE = 'yes';
    configure('reconfigure-waiting', { size: 2 });
    setTimeout(() => writeFileSync(release, ''), 200);
    const done = await Promise.race([
      Promise.all([holding, ...waiting]).then(() => 'all settled'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5_000).unref()),
    ]);
    delete process.env.RUN_IN_PROCESS_INLINE;
    console.log(JSON.stringify({ done, queued: stats('reconfigure-waiting').queued }));
    await shutdown();`);
  assert.equal(run.status, 0, run.report);
  assert.deepEqual(JSON.parse(run.stdout), { done: 'all settled', queued: 0 }, run.report);
});

test('isolate: true runs every call in a fresh process, so module state does not carry over', async () => {
  configure('isolated', { isolate: true, size: 1 });
  const first = await Stateful.isolatedCall();
  const second = await Stateful.isolatedCall();
  assert.equal(first.calls, 1);
  assert.equal(second.calls, 1);
  assert.notEqual(first.pid, second.pid);
  // Its first child was replaced after its call, long before the second child booted and answered.
  assert.ok(stats('isolated').children.recycled >= 1, 'a child replaced after its call counts as recycled');
  configure('shared-state', { size: 1 });
  await Stateful.sharedCall();
  assert.equal((await Stateful.sharedCall()).calls, 2, 'without isolation the module state is kept');
});

test('an isolated pool starts one child per call and then rests: no child is started for nothing', async () => {
  configure('isolated', { isolate: true, size: 1 });
  const spawned: number[] = [];
  const onSpawn = (message: unknown) => spawned.push((message as { pid: number }).pid);
  diagnostics.subscribe('run-in-process:child:spawn', onSpawn);
  try {
    const results = await Promise.all(Array.from({ length: 10 }, () => Stateful.isolatedCall()));
    assert.equal(new Set(results.map((result) => result.pid)).size, 10, 'each call had a child of its own');
    // Before the fix, each child that ended queued a no-op task, which used up a new child: ~11 a second.
    await delay(1_500);
    const settledSpawns = spawned.length;
    assert.ok(settledSpawns <= 12, `10 calls started ${settledSpawns} children`);
    await delay(1_000);
    assert.equal(spawned.length, settledSpawns, 'no child was started while the pool was idle');
  } finally {
    diagnostics.unsubscribe('run-in-process:child:spawn', onSpawn);
  }
});

test('recycleAfterCalls replaces a child after that many calls, losing none', async () => {
  configure('recycled', { recycleAfterCalls: 2, size: 1 });
  const results = await Promise.all(Array.from({ length: 6 }, () => Stateful.recycledCall()));
  assert.equal(results.length, 6, 'every call was answered');
  const pids = new Set(results.map((result) => result.pid));
  assert.ok(pids.size >= 3, `6 calls with a limit of 2 used ${pids.size} children`);
  for (const result of results) assert.ok(result.calls <= 2);
});

test('recycleAboveHeapMb replaces a child whose heap grew past the threshold', async () => {
  configure('heap-recycled', { recycleAboveHeapMb: 1, size: 1 });
  const pids = [await HeapHog.grow(), await HeapHog.grow(), await HeapHog.grow()];
  assert.equal(new Set(pids).size, 3, `each call got a fresh child: ${pids.join(', ')}`);
});

test('maxMemoryMb becomes the heap limit flag', async () => {
  configure('max-memory', { maxMemoryMb: 300 });
  const { environment } = (await fixture<typeof import('../fixtures/src/pooled.js')>('standard', 'pooled')).inPool(
    'max-memory',
  );
  assert.ok((await environment('X')).execArgv.includes('--max-old-space-size=300'));
});
