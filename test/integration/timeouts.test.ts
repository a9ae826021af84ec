import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { after, test } from 'node:test';
import { AbortError, type ChildExit, configure, shutdown, TimeoutError, warmUp, withCallOptions } from 'run-in-process';
import { CallLog, ids } from '../helpers/call-log.js';
import { fixture, fixtureUrl, isAlive, scratchFile, waitFor, waitForFile } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { runScript } from '../helpers/scripts.js';

// Timeouts set on the method, on the call and on the pool. A class default (inherited by a
// subclass) is tested with the decorators, in core.test.ts.

type CrashesModule = typeof import('../fixtures/src/crashes.js');
type PooledModule = typeof import('../fixtures/src/pooled.js');
const { Crasher } = await fixture<CrashesModule>('standard', 'crashes');
const { inPool } = await fixture<PooledModule>('standard', 'pooled');

after(() => shutdown());

test('an overdue call is killed and rejects with TimeoutError; the pool goes on', async () => {
  const started = scratchFile('hang');
  const error = await rejectionOf(Crasher.hang(started), TimeoutError);
  assert.equal(error.timeout, 300);
  assert.match(error.message, /Crasher\.hang timed out after 300 ms/);
  const hung = Number(await waitForFile(started));
  assert.ok(
    (await waitFor(() => !isAlive(hung), 5_000)) !== undefined,
    `the child ${hung} that ran the call was killed`,
  );
  assert.equal(typeof (await Crasher.pid()), 'number');
});

test('a per-call timeout counts from the start of the call, not from the queue', async () => {
  configure('timeout-from-start', { size: 1 });
  const { spin } = inPool('timeout-from-start');
  const slow = spin(700);
  const queued = withCallOptions({ timeout: 500 }, () => spin(100));
  assert.equal(typeof (await slow), 'number');
  assert.equal(typeof (await queued), 'number', 'waiting 700 ms in the queue did not use up its 500 ms');
  const error = await rejectionOf(
    withCallOptions({ timeout: 150 }, () => spin(5_000)),
    TimeoutError,
  );
  assert.equal(error.timeout, 150);
});

test('a pool default timeout applies to calls that set none', async () => {
  configure('timeout-pool-default', { size: 1, timeout: 250 });
  const error = await rejectionOf(inPool('timeout-pool-default').spin(5_000), TimeoutError);
  assert.equal(error.timeout, 250);
});

test('a call that hangs in a batch times out alone; the calls behind it run exactly once, in another child', async () => {
  configure('timeout-in-batch', { size: 2 });
  const { step } = inPool('timeout-in-batch');
  const log = new CallLog();
  const total = 1_000;
  const hanging = new Set([300, 700]);
  const results = await Promise.allSettled(
    ids(total).map((index) =>
      withCallOptions({ timeout: 1_000 }, () => step(log.path, index, hanging.has(index) ? 'hang' : 'value')),
    ),
  );
  results.forEach((result, index) => {
    if (hanging.has(index))
      assert.ok(
        result.status === 'rejected' && result.reason instanceof TimeoutError,
        `call ${index}: ${String(result.status === 'rejected' ? result.reason : 'fulfilled')}`,
      );
    else assert.equal(result.status === 'fulfilled' ? result.value.index : result.reason, index, `call ${index}`);
  });
  log.assertEachRanOnce(ids(total));
  const entries = log.entries();
  for (const index of hanging) {
    const at = entries.findIndex((entry) => entry.id === index);
    const hung = entries[at]!.pid;
    const later = entries.slice(at + 1).filter((entry) => entry.pid === hung);
    assert.deepEqual(later, [], `calls ran in child ${hung} after call ${index} hung there`);
    assert.ok(
      (await waitFor(() => !isAlive(hung), 5_000)) !== undefined,
      `the child ${hung} of call ${index} was killed`,
    );
  }
});

test('a call sent to a stopped child does not wait for ever: it fails or runs elsewhere, and the child is killed', async () => {
  configure('timeout-stopped-child', { size: 1, startTimeout: 300 });
  const { pid, spin } = inPool('timeout-stopped-child');
  const stopped = await pid();
  process.kill(stopped, 'SIGSTOP');
  const outcome = await withCallOptions({ timeout: 5_000 }, () => spin(1)).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  // The child holds either an open batch the parent closed (stopped after the close timer), or
  // nothing, and takes the next batch (the call then fails: its child never started it).
  if ('error' in outcome) {
    assert.ok(outcome.error instanceof TimeoutError, String(outcome.error));
    assert.match(outcome.error.message, /was not started by its child process within 300 ms/);
  } else {
    assert.equal(typeof outcome.value, 'number');
  }
  assert.ok((await waitFor(() => !isAlive(stopped), 5_000)) !== undefined, `the stopped child ${stopped} was killed`);
  assert.notEqual(await pid(), stopped, 'the next call runs on a new child');
});

test('a timed call sent to a child whose code blocks it after its own call answered runs on another child, not failed', async () => {
  // The call is next in line at a child that will never start it: code left by the call before it
  // blocks that child's event loop. It failed with TimeoutError, an innocent caller's, for another's code.
  configure('timeout-blocked-child', { size: 1, startTimeout: 300 });
  const { blockAfterAnswer, pid } = inPool('timeout-blocked-child');
  for (let round = 0; round < 2; round++) {
    const blocked = await blockAfterAnswer(60_000);
    const ran = await withCallOptions({ timeout: 5_000 }, () => pid());
    assert.notEqual(ran, blocked, `round ${round}: it ran on another child`);
    assert.ok((await waitFor(() => !isAlive(blocked), 5_000)) !== undefined, `the blocked child ${blocked} was killed`);
  }
});

test("a stopped child killed because a timed call's start never came ends for a timeout (the call runs on another child), and one aborted before it spoke for an abort: not as idle children", async () => {
  configure('timeout-stopped-child', { size: 1, startTimeout: 300 });
  const { pid } = inPool('timeout-stopped-child');
  const exits: ChildExit[] = [];
  const onExit = (message: unknown) => exits.push(message as ChildExit);
  diagnosticsChannel.subscribe('run-in-process:child:exit', onExit);
  try {
    const stuck = await pid();
    await new Promise((resolve) => setTimeout(resolve, 100)); // Its batch closed: the next call goes in a new one.
    process.kill(stuck, 'SIGSTOP');
    assert.notEqual(await withCallOptions({ timeout: 5_000 }, () => pid()), stuck, 'the call ran on another child');
    assert.ok((await waitFor(() => exits.some((exit) => exit.pid === stuck), 5_000)) !== undefined);
    assert.equal(exits.find((exit) => exit.pid === stuck)?.reason, 'timeout');

    const aborted = await pid();
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.kill(aborted, 'SIGSTOP');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await rejectionOf(
      withCallOptions({ signal: controller.signal }, () => pid()),
      AbortError,
    );
    assert.ok((await waitFor(() => exits.some((exit) => exit.pid === aborted), 5_000)) !== undefined);
    assert.equal(exits.find((exit) => exit.pid === aborted)?.reason, 'abort');
  } finally {
    diagnosticsChannel.unsubscribe('run-in-process:child:exit', onExit);
  }
});

test('a call made just after another timed out never runs on the child being killed for it', async () => {
  // The timed call often answers just as its timeout fires: its child is being killed while its
  // batch looks idle, and tinypool may hand that child a new task before it hears of the exit.
  configure('timeout-next-call', { size: 1 });
  const { spin, pid } = inPool('timeout-next-call');
  await pid();
  let timedOut = 0;
  for (let i = 0; i < 40; i++) {
    await withCallOptions({ timeout: 45 }, () => spin(40 + (i % 10))).catch(() => timedOut++);
    assert.equal(typeof (await pid()), 'number', `the call after attempt ${i} failed`);
  }
  assert.ok(timedOut > 0, 'some calls timed out, so children were killed');
});

test('a call that times out while its child still imports the module says so, and how to keep the import out of calls', async () => {
  const url = fixtureUrl('standard', 'slow-import');
  const { quick, hang } = await fixture<typeof import('../fixtures/src/slow-import.js')>('standard', 'slow-import');
  configure('slow-import', { size: 1 });
  const cold = await rejectionOf(quick(), TimeoutError);
  assert.match(cold.message, /^quick timed out after 600 ms while its child process was still importing /);
  assert.ok(cold.message.includes(url), cold.message);
  assert.match(cold.message, /preload: \[.*\] and await warmUp\(\)/);
  configure('slow-import', { size: 1, preload: [url] });
  await warmUp('slow-import');
  assert.equal(typeof (await quick()), 'number');
  // Once imported, a timeout is only the code's.
  const warm = await rejectionOf(hang(), TimeoutError);
  assert.equal(warm.message, 'hang timed out after 600 ms; its child process was killed and will be replaced.');
});

test('with callsPerChild above 1, a timed call that waits joins no shared batch: its timeout kills no call beside it', async () => {
  configure('shared-alone', { size: 1, callsPerChild: 2, startTimeout: 1_000 });
  await warmUp('shared-alone');
  const { step, pid } = inPool('shared-alone');
  const log = scratchFile('shared-alone-log');
  const long = step(log, 1, { sleepMs: 2_500 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const fast = pid();
  // It waits for a child of its own: not in the batch that the fast call leaves open beside the long one.
  const timed = withCallOptions({ timeout: 500 }, () => step(log, 2, { sleepMs: 2_000 }));
  await fast;
  assert.equal((await long).index, 1, 'the long call was not killed with the timed one');
  assert.equal((await rejectionOf(timed, TimeoutError)).timeout, 500);
  // A timed call handed back unstarted (its batch stopped after a slow call) waits again: the bound on
  // its start where it was first sent, 1 s here, no longer applies.
  const slow = [step(log, 3, { sleepMs: 300 }), step(log, 4, { sleepMs: 2_500 })];
  await new Promise((resolve) => setTimeout(resolve, 100));
  const later = withCallOptions({ timeout: 5_000 }, () => step(log, 5, { sleepMs: 50 }));
  assert.equal((await later).index, 5);
  await Promise.all(slow);
});

test("this process's event loop blocked past a bound does not blame the child: a boot, a start and an answer that came meanwhile count", () => {
  // A debugger's breakpoint, a long synchronous job or a suspended machine: timers run before the
  // messages that came meanwhile are read, and a child heard to be ready only then is sent its call only then.
  const run = runScript(
    `const { configure, shutdown, withCallOptions } = await import('run-in-process');
     const { default: diagnosticsChannel } = await import('node:diagnostics_channel');
     const { Crasher } = await import(${JSON.stringify(fixtureUrl('standard', 'crashes'))});
     const block = (ms) => { const end = Date.now() + ms; while (Date.now() < end); };
     const outcome = (promise) => promise.then(() => 'ran', (error) => error.name + ': ' + error.message);
     configure({ size: 1, startTimeout: 1_000 });
     let blocked = false;
     diagnosticsChannel.subscribe('run-in-process:child:spawn', () => {
       if (!blocked) setImmediate(() => block(1_500));
       blocked = true;
     });
     // Past startTimeout, as the child boots and its call waits for it.
     console.log(await outcome(withCallOptions({ timeout: 30_000 }, () => Crasher.spin(1))));
     // Past the call's timeout, while the child runs the call and answers in time.
     const call = outcome(withCallOptions({ timeout: 500 }, () => Crasher.spin(100)));
     setTimeout(() => block(1_000), 50);
     console.log(await call);
     await shutdown();`,
    { timeout: 20_000 },
  );
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout.trim(), 'ran\nran', run.report);
});
