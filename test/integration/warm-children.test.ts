import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  ChildStartupError,
  configure,
  ModuleLoadError,
  shutdown,
  stats,
  warmUp,
  withCallOptions,
} from 'run-in-process';
import { fixture, fixtureUrl, scratchFile, waitFor } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { captureWarnings } from '../helpers/warnings.js';
import { listChildrenCode, runScript } from '../helpers/scripts.js';

type PooledModule = typeof import('../fixtures/src/pooled.js');
const { inPool } = await fixture<PooledModule>('standard', 'pooled');
type ProbeModule = typeof import('../fixtures/src/compile-probe.js');
const { compiledYet } = await fixture<ProbeModule>('standard', 'compile-probe');

after(() => shutdown());

const pidsIn = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map(Number) : []);

/** Runs `body` with the pids of the children `pool` starts meanwhile, as `run-in-process:child:spawn` tells them. */
async function watchingSpawns(pool: string, body: (spawned: number[]) => Promise<void>): Promise<void> {
  const spawned: number[] = [];
  const onSpawn = (message: unknown) => {
    const told = message as { pool: string; pid: number };
    if (told.pool === pool) spawned.push(told.pid);
  };
  diagnosticsChannel.subscribe('run-in-process:child:spawn', onSpawn);
  try {
    await body(spawned);
  } finally {
    diagnosticsChannel.unsubscribe('run-in-process:child:spawn', onSpawn);
  }
}

test('warmUp() settles once minChildren children are up, with their preload imported; a first call needs no new child', async () => {
  const log = scratchFile('preloaded');
  configure('warm', {
    size: 2,
    minChildren: 2,
    preload: [fixtureUrl('standard', 'preloaded')],
    env: { ...process.env, PRELOAD_LOG: log },
  });
  await warmUp('warm');
  const warm = pidsIn(log);
  assert.equal(warm.length, 2, 'each warm child imported the preloaded module');
  assert.deepEqual(stats('warm').children, { busy: 0, idle: 2, starting: 0, recycled: 0 });
  const { pid } = inPool('warm');
  assert.ok(warm.includes(await pid()), 'the first call ran on a warm child');
  assert.equal(pidsIn(log).length, 2, 'no other child started');
});

test('warmUp() fails, saying why, when a warm child stalls in its warm-up once ready; another child takes the calls', async () => {
  // Code in the child (a preload's listener) stops it when its warm-up comes: it never ends it.
  const preload = `${scratchFile('stops-when-warmed')}.mjs`;
  writeFileSync(
    preload,
    `process.on('message', (m) => { if (JSON.stringify(m).includes('"warm"')) process.kill(process.pid, 'SIGSTOP'); });`,
  );
  // Its end is told as a timeout's (README: not ready within startTimeout), not as an idle child's.
  const exits: Array<{ pool: string; reason: string }> = [];
  const onExit = (message: unknown) => exits.push(message as { pool: string; reason: string });
  diagnosticsChannel.subscribe('run-in-process:child:exit', onExit);
  try {
    configure('stalls-warming', {
      size: 1,
      minChildren: 1,
      startTimeout: 1_000,
      preload: [pathToFileURL(preload).href],
    });
    const error = await rejectionOf(warmUp('stalls-warming'), ChildStartupError);
    assert.match(error.message, /did not finish its warm-up within startTimeout \(1000 ms\), and was stopped/);
    assert.equal(typeof (await inPool('stalls-warming').pid()), 'number');
    await waitFor(() => exits.some((exit) => exit.pool === 'stalls-warming'), 5_000);
    assert.equal(exits.find((exit) => exit.pool === 'stalls-warming')?.reason, 'timeout', JSON.stringify(exits));
  } finally {
    diagnosticsChannel.unsubscribe('run-in-process:child:exit', onExit);
  }
  configure('stalls-warming', { size: 1 });
});

test('warmUp() fails, saying why, when a warm child stalls in its warm-up pings, after its warm-up task; another child takes the calls', async () => {
  // The library's pings, which follow the warm-up task, ran with no bound: warmUp() never settled.
  // Code in the first child stops it when the first ping comes.
  const preload = `${scratchFile('stops-at-ping')}.mjs`;
  const stopped = scratchFile('stopped-at-ping');
  writeFileSync(
    preload,
    `import { existsSync, writeFileSync } from 'node:fs';
     process.on('message', (m) => {
       if (!JSON.stringify(m).includes('"batch"') || existsSync(${JSON.stringify(stopped)})) return;
       writeFileSync(${JSON.stringify(stopped)}, '');
       process.kill(process.pid, 'SIGSTOP');
     });`,
  );
  configure('stalls-pinging', { size: 1, minChildren: 1, startTimeout: 1_000, preload: [pathToFileURL(preload).href] });
  const settled = await Promise.race([
    rejectionOf(warmUp('stalls-pinging'), ChildStartupError),
    delay(10_000).then(() => 'warmUp() still unsettled after 10 s'),
  ]);
  assert.ok(settled instanceof ChildStartupError, String(settled));
  assert.match(settled.message, /did not finish its warm-up within startTimeout \(1000 ms\), and was stopped/);
  assert.ok(existsSync(stopped), 'the child stopped at a ping');
  assert.equal(typeof (await inPool('stalls-pinging').pid()), 'number');
  configure('stalls-pinging', { size: 1 });
});

test('children that end by themselves while idle are not started again and again: the pool pauses its minimum, and warns once', async () => {
  const preload = `${scratchFile('exits-when-loaded')}.mjs`;
  writeFileSync(preload, 'setTimeout(() => process.exit(0), 30);');
  const spawned: number[] = [];
  const onSpawn = (message: unknown) => {
    if ((message as { pool: string }).pool === 'ends-idle') spawned.push((message as { pid: number }).pid);
  };
  diagnosticsChannel.subscribe('run-in-process:child:spawn', onSpawn);
  try {
    const { warnings } = await captureWarnings(async () => {
      configure('ends-idle', { size: 2, minChildren: 2, preload: [pathToFileURL(preload).href] });
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    });
    // About 15 a second without the pause: here, the first few, then 2 after 1 s, then 2 after 2 s more.
    assert.ok(spawned.length <= 12, `${spawned.length} children started in 3 s`);
    // A warmUp() now settles, one way or the other: it does not wait for children nothing starts.
    const outcome = await Promise.race([
      warmUp('ends-idle').then(
        () => 'resolved',
        (error: Error) => error.name,
      ),
      new Promise((resolve) => setTimeout(resolve, 5_000, 'still waiting')),
    ]);
    assert.notEqual(outcome, 'still waiting');
    const said = warnings.filter((warning) => warning.code === 'RUN_IN_PROCESS_CHILDREN_END_IDLE');
    assert.equal(said.length, 1, JSON.stringify(warnings));
    assert.match(said[0]!.message, /Children of pool ends-idle end by themselves while they run no call/);
  } finally {
    diagnosticsChannel.unsubscribe('run-in-process:child:spawn', onSpawn);
    configure('ends-idle', { size: 1 });
  }
});

test("a warm-up's time limit counts from the child's readiness, not from its boot", async () => {
  // A child that boots in about 0.7 s and whose warm-up takes about 0.5 s, with startTimeout 1 s: each
  // within it, not both together.
  const preload = `${scratchFile('slow-boot-slow-warm')}.mjs`;
  writeFileSync(
    preload,
    `await new Promise((resolve) => setTimeout(resolve, 600));
     process.on('message', (m) => {
       if (JSON.stringify(m).includes('"warm"')) { const until = Date.now() + 500; while (Date.now() < until); }
     });`,
  );
  configure('slow-warm', { size: 1, startTimeout: 1_000, preload: [pathToFileURL(preload).href] });
  await warmUp('slow-warm');
  configure('slow-warm', { size: 1 });
});

test('configure() again with the same options leaves the pool as it is: its warm children are not started over', async () => {
  await watchingSpawns('warm-again', async (spawned) => {
    const options = (value: string) => ({
      size: 2,
      minChildren: 2,
      env: { ...process.env, AGAIN: value },
      execArgv: [],
    });
    configure('warm-again', options('1'));
    await warmUp('warm-again');
    for (let i = 0; i < 30; i++) configure('warm-again', options('1'));
    await warmUp('warm-again');
    assert.equal(spawned.length, 2, `${spawned.length} children started for a pool of 2`);
    configure('warm-again', options('2'));
    await warmUp('warm-again');
    assert.equal(spawned.length, 4, 'other options start it over');
  });
});

test('a call a turn after warmUp(), or after the call before it, waits for the warm child instead of starting another', async () => {
  // The warm-up's last batch is closing then, as is a call's when the next comes a turn later: its
  // child is about to be free. tinypool would fork a second child for the call (the pool is below
  // its size), blocking this event loop for milliseconds, to boot beside the call for nothing.
  configure('warm-below-size', { size: 2, minChildren: 1 });
  await watchingSpawns('warm-below-size', async (spawned) => {
    await warmUp('warm-below-size');
    const { pid } = inPool('warm-below-size');
    const pids = new Set<number>();
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      pids.add(await pid());
    }
    assert.equal(pids.size, 1, 'every call ran on the warm child');
    assert.deepEqual(spawned, [], 'no other child was started');
    assert.equal(stats('warm-below-size').children.idle, 1);
    // A call made while the warm child runs one does need a second child, and gets it.
    const { spin } = inPool('warm-below-size');
    await Promise.all([spin(300), spin(300)]);
    assert.equal(spawned.length, 1, 'a second child was started for the second of two calls at once');
  });
});

test('calls that go alone (with an AbortSignal, or a stream), one after another, keep to one child', async () => {
  // Such a call must not join a batch left open for more calls, nor be sent while the batch before
  // it ends: tinypool would fork a child for it, every time, until the pool reached its size.
  configure('alone-in-turn', { size: 4 });
  await watchingSpawns('alone-in-turn', async (spawned) => {
    const { pid, stream } = inPool('alone-in-turn');
    const log = scratchFile('alone-in-turn');
    const pids = new Set<number>([await pid()]);
    for (let i = 0; i < 5; i++) {
      pids.add(await withCallOptions({ signal: AbortSignal.timeout(60_000) }, () => pid()));
      for await (const _ of stream(log, 2));
      pids.add(await pid());
    }
    // Each line of the stream's log: `<index> <pid>`.
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) pids.add(Number(line.split(' ')[1]));
    assert.equal(spawned.length, 1, `children started: ${spawned.join(', ')}`);
    assert.deepEqual([...pids], spawned, 'every call ran on that child');
  });
});

test('a call waits for a batch that is ending only briefly: not for a child that answered and then blocked', async () => {
  configure('hold-blocked', { size: 2 });
  const { blockAfterAnswer, pid } = inPool('hold-blocked');
  // The child blocks its event loop right after answering, before it can read the parent's close: its
  // batch is left ending. Unless the child ended the batch itself first (it does after a call it
  // found slow, as a busy machine can make any call): then the pool sees it idle, and a call goes to
  // it, as to any child that answered and then hung. So the case is tried again, a few times at most.
  for (let attempt = 1; ; attempt++) {
    await pid();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const blocked = await blockAfterAnswer(2_500);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const startedAt = Date.now();
    const other = await pid();
    const waited = Date.now() - startedAt;
    if (other !== blocked) {
      assert.ok(waited < 2_000, `it did not wait for the blocked child: ${waited} ms`);
      return;
    }
    assert.ok(attempt < 4, 'the call went to a new child, not to the one that answered and blocked');
  }
});

test('calls made together, or a call that goes alone, while a batch is ending do not queue behind one another', async () => {
  configure('hold-pair', { size: 2, minChildren: 1 });
  await warmUp('hold-pair');
  const pair = inPool('hold-pair');
  await new Promise((resolve) => setImmediate(resolve));
  // Long enough for the second child to boot before the first call is done, on a busy machine too.
  const pids = await Promise.all([pair.spin(1_500), pair.spin(1_500)]);
  assert.equal(new Set(pids).size, 2, 'two calls at once ran side by side, on two children');

  configure('hold-order', { size: 2, minChildren: 1 });
  await warmUp('hold-order');
  const ordered = inPool('hold-order');
  const warm = await ordered.pid();
  await new Promise((resolve) => setImmediate(resolve));
  const first = ordered.spin(300);
  const alone = withCallOptions({ signal: new AbortController().signal }, () => ordered.spin(300));
  assert.equal(await first, warm, 'the call made first ran on the warm child, not after a new one booted');
  await alone;
});

test('the warm-up is no call: not counted, traced in neither process, and it uses up no call limit', async () => {
  const preloadLog = scratchFile('preloaded');
  const traceLog = scratchFile('trace-child');
  configure('warm-quiet', {
    size: 1,
    minChildren: 1,
    recycleAfterCalls: 1,
    preload: [fixtureUrl('standard', 'preloaded'), fixtureUrl('standard', 'trace-child')],
    env: { ...process.env, PRELOAD_LOG: preloadLog, TRACE_LOG: traceLog },
  });
  const started: string[] = [];
  const calls = diagnosticsChannel.tracingChannel('run-in-process:call');
  const handlers = {
    start: (context: unknown) => started.push((context as { target: string }).target),
    end() {},
    asyncStart() {},
    asyncEnd() {},
    error() {},
  };
  calls.subscribe(handlers);
  try {
    await warmUp('warm-quiet');
    const [warm] = pidsIn(preloadLog);
    assert.deepEqual(started, [], 'nothing published in the parent');
    assert.ok(!existsSync(traceLog), 'nothing published in the child');
    const before = stats('warm-quiet');
    assert.equal(before.completed, 0);
    assert.deepEqual(before.children, { busy: 0, idle: 1, starting: 0, recycled: 0 });

    const { pid } = inPool('warm-quiet');
    assert.equal(await pid(), warm, 'with a limit of one call, the warm child still took the first');
    assert.deepEqual(started, ['warm-quiet:pid']);
    assert.deepEqual(
      readFileSync(traceLog, 'utf8')
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { target: string }).target),
      ['warm-quiet:pid'],
    );
    assert.equal(stats('warm-quiet').completed, 1);
  } finally {
    calls.unsubscribe(handlers);
  }
});

test('an isolated pool is warmed without running anything in its warm child, which a call would use up', async () => {
  const log = scratchFile('preloaded');
  configure('warm-isolated', {
    size: 1,
    minChildren: 1,
    isolate: true,
    preload: [fixtureUrl('standard', 'preloaded')],
    env: { ...process.env, PRELOAD_LOG: log },
  });
  await warmUp('warm-isolated');
  const warm = pidsIn(log);
  assert.equal(warm.length, 1, 'one child started, and was not replaced');
  const { pid } = inPool('warm-isolated');
  assert.equal(await pid(), warm[0], 'the first call ran on the warm child');

  // With no children kept warm, warmUp() starts one for the first call, without a task that
  // would use it up (it was replaced at once, and counted as recycled).
  const idleLog = scratchFile('warm-isolated-idle.log');
  configure('warm-isolated', {
    size: 1,
    minChildren: 0,
    isolate: true,
    preload: [fixtureUrl('standard', 'preloaded')],
    env: { ...process.env, PRELOAD_LOG: idleLog },
  });
  await warmUp('warm-isolated');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(stats('warm-isolated').children, { busy: 0, idle: 1, starting: 0, recycled: 0 });
  const started = pidsIn(idleLog);
  assert.equal(started.length, 1);
  assert.equal(await pid(), started[0], 'the first call ran on the child warmUp() started');
});

test('a preload module that cannot be imported fails warmUp() and the calls with ModuleLoadError naming it', async () => {
  const missing = 'file:///nowhere/missing-preload.js';
  configure('warm-bad', { size: 1, minChildren: 1, preload: [missing] });
  const error = await rejectionOf(warmUp('warm-bad'), ModuleLoadError);
  assert.equal(error.moduleUrl, missing);
  assert.match(error.message, /could not import file:\/\/\/nowhere\/missing-preload\.js, which the pool preloads/);
  const { pid } = inPool('warm-bad');
  assert.equal((await rejectionOf(pid(), ModuleLoadError)).moduleUrl, missing);
});

test('shutdown() after a pool broke on a preload that throws settles once its children are gone, zombies included; its failed calls are not counted waiting', () => {
  // The pool that broke destroys its children by itself; shutdown() waits for that, as for any pool.
  const run = runScript(`
    const { configure, shutdown, stats, warmUp } = await import('run-in-process');
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { writeFileSync } = await import('node:fs');
    const preload = ${JSON.stringify(scratchFile('throwing-preload.mjs'))};
    writeFileSync(preload, "throw new Error('no preload for you');");
    configure('broken-preload', { size: 2, preload: [preload] });
    const { pid } = inPool('broken-preload');
    await warmUp('broken-preload').catch(() => {});
    await Promise.allSettled([pid(), pid(), pid(), pid(), pid()]);
    const { queued, running, failed } = stats('broken-preload');
    await shutdown();
    const { readdirSync, readFileSync } = await import('node:fs');
    const left = readdirSync('/proc').filter((entry) => /^\\d+$/.test(entry)).filter((entry) => {
      try {
        const stat = readFileSync('/proc/' + entry + '/stat', 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch { return false; }
    });
    console.log(JSON.stringify({ left, queued, running, failed }));`);
  assert.equal(run.status, 0, run.report);
  // The calls that failed with it count as failed, not as waiting, while the broken pool closes.
  assert.deepEqual(JSON.parse(run.stdout), { left: [], queued: 0, running: 0, failed: 5 }, run.report);
});

test('a module that configures warm children of its own pool and warms it starts none in the children that import it', () => {
  // Each child imports the module again (here it even preloads itself): there, configure() only
  // records, and warmUp() settles at once, since calls made in a child run in it.
  const module = scratchFile('self-warming.mjs');
  writeFileSync(
    module,
    `import { configure, runInProcess, stats, warmUp } from ${JSON.stringify(new URL('../../../dist/index.js', import.meta.url).href)};
     configure('self-warm', { size: 2, minChildren: 2, preload: [import.meta.url] });
     await warmUp('self-warm');
     export const where = runInProcess(async function where() { return stats('self-warm').children; }, { pool: 'self-warm' });`,
  );
  const run = runScript(`
    const { readdirSync, readFileSync } = await import('node:fs');
    const { where } = await import(${JSON.stringify(pathToFileURL(module).href)});
    const inChild = await where();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Every pool child below this one, at any depth.
    const parents = new Map(readdirSync('/proc').filter((entry) => /^\\d+$/.test(entry)).flatMap((pid) => {
      try {
        const stat = readFileSync('/proc/' + pid + '/stat', 'utf8');
        // A pool's child runs tinypool's entry (a process name is no help: Node 24 names its main thread).
        const child = readFileSync('/proc/' + pid + '/cmdline', 'utf8').includes('tinypool');
        return [[Number(pid), { ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), node: child }]];
      } catch { return []; }
    }));
    const below = (pid) => { for (let at = parents.get(pid)?.ppid; at; at = parents.get(at)?.ppid) if (at === process.pid) return true; return false; };
    const nodes = [...parents].filter(([pid, { node }]) => node && below(pid));
    console.log(JSON.stringify({ inChild, nodes: nodes.length, direct: nodes.filter(([, { ppid }]) => ppid === process.pid).length }));
    process.exit(0);`);
  assert.equal(run.status, 0, run.report);
  assert.deepEqual(JSON.parse(run.stdout.trim()), {
    inChild: { busy: 0, idle: 0, starting: 0, recycled: 0 },
    nodes: 2,
    direct: 2,
  });
});

test('a pool with warm children does not keep an idle process alive', () => {
  const run = runScript(`
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { configure, warmUp } = await import('run-in-process');
    configure('warm', { size: 1, minChildren: 1 });
    await warmUp('warm');
    console.log(typeof (await inPool('warm').pid()));`);
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout.trim(), 'number');
});

test('a child stuck importing its preload is killed after startTimeout: warmUp() fails, so do calls, and the process exits', () => {
  const run = runScript(
    `const { configure, warmUp } = await import('run-in-process');
     const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
     configure('warm', { size: 2, minChildren: 1, startTimeout: 1000, preload: [${JSON.stringify(fixtureUrl('standard', 'hangs-at-import'))}] });
     const started = Date.now();
     const outcome = (promise) => promise.then(() => 'done', (error) => error.name + ': ' + error.message);
     console.log(await outcome(warmUp('warm')));
     console.log('warmUp settled after', Date.now() - started < 1900 ? 'one startTimeout' : (Date.now() - started) + ' ms');
     // The call goes to a child that never boots either: its boot failed, not the call.
     console.log(await outcome(inPool('warm').pid()));`,
    { timeout: 20_000 },
  );
  assert.equal(run.status, 0, `the script did not exit on its own: ${run.report}`);
  const lines = run.stdout.trim().split('\n');
  const notReady =
    /^ChildStartupError: A child process \(pid \d+\) was not ready to take calls within startTimeout \(1000 ms\), and was killed/;
  assert.match(lines[0] ?? '', notReady, run.report);
  assert.equal(lines[1], 'warmUp settled after one startTimeout', run.report);
  assert.match(lines[2] ?? '', notReady, run.report);
});

test('preload compiles its modules as they load, so a first call does not; what a child imports later compiles lazily again', async () => {
  const withNatives = { size: 1, execArgv: [...process.execArgv, '--allow-natives-syntax'] };
  configure('compile-probe', withNatives);
  assert.equal(await compiledYet(), false, 'without preload, a function not called yet is not compiled');
  await shutdown();

  configure('compile-probe', { ...withNatives, minChildren: 1, preload: [fixtureUrl('standard', 'compile-probe')] });
  await warmUp('compile-probe');
  assert.equal(await compiledYet(), true, 'the preloaded module was compiled as it loaded');
  assert.equal(
    await compiledYet(fixtureUrl('standard', 'compile-probe-later')),
    false,
    'a module imported after the preload compiles lazily, as Node does',
  );
});

test("a pool whose own flags turn V8's lazy compilation off keeps it off after its preload", async () => {
  configure('compile-probe', {
    size: 1,
    execArgv: [...process.execArgv, '--allow-natives-syntax', '--no-lazy'],
    preload: [fixtureUrl('standard', 'compile-probe')],
  });
  assert.equal(await compiledYet(fixtureUrl('standard', 'compile-probe-later')), true);
});

test('a child stuck in its warm-up holds warmUp() until shutdown(), which stops it: warmUp() fails, no child is left', () => {
  const run = runScript(
    `const { configure, shutdown, warmUp } = await import('run-in-process');
     const { setTimeout: sleep } = await import('node:timers/promises');
     configure({ size: 1, minChildren: 1,
       preload: [${JSON.stringify(fixtureUrl('standard', 'slow-first-task'))}],
       env: { ...process.env, SLOW_TASK: 'warm', SLOW_TASK_MS: '60000' } });
     const warming = warmUp().then(() => 'resolved', (error) => error.name);
     await sleep(1_500);
     const before = await Promise.race([warming, sleep(0).then(() => 'pending')]);
     await shutdown({ deadline: 0 });
     ${listChildrenCode}
     console.log(JSON.stringify({ before, after: await warming, children }));`,
    { timeout: 20_000 },
  );
  assert.equal(run.status, 0, `the script did not exit on its own: ${run.report}`);
  assert.deepEqual(
    JSON.parse(run.stdout.trim()),
    { before: 'pending', after: 'PoolClosedError', children: [] },
    run.report,
  );
});

test('stats() counts a child busy while it runs its warm-up', () => {
  const run = runScript(
    `const { configure, shutdown, stats, warmUp } = await import('run-in-process');
     const { setTimeout: sleep } = await import('node:timers/promises');
     configure({ size: 1, minChildren: 1,
       preload: [${JSON.stringify(fixtureUrl('standard', 'slow-first-task'))}],
       env: { ...process.env, SLOW_TASK: 'warm', SLOW_TASK_MS: '2000' } });
     const warming = warmUp();
     await sleep(1_000); // booted, and held in its warm-up for two seconds
     const during = stats().children;
     await warming;
     await sleep(50); // the batch the warm-up's last ping left open closes
     console.log(JSON.stringify({ during, after: stats().children }));
     await shutdown();`,
    { timeout: 20_000 },
  );
  assert.equal(run.status, 0, run.report);
  const { during, after } = JSON.parse(run.stdout.trim()) as Record<string, { busy: number; idle: number }>;
  assert.deepEqual([during?.busy, during?.idle], [1, 0], run.report);
  assert.deepEqual([after?.busy, after?.idle], [0, 1], run.report);
});

test('warmUp() right after a call pings the child that ran it, and starts no other', async () => {
  configure('warm-after-call', { size: 2 });
  const { pid } = inPool('warm-after-call');
  const first = await pid();
  // The call's batch is ending now: its child is taken for tinypool, though it runs no call.
  await warmUp('warm-after-call');
  assert.equal(stats('warm-after-call').children.starting, 0, 'no child was started for the warm-up');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const { busy, idle, starting } = stats('warm-after-call').children;
  assert.equal(busy + idle + starting, 1);
  assert.equal(await pid(), first);
});
