import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import {
  ChildStartupError,
  configure,
  ModuleLoadError,
  ProcessCrashedError,
  QueueFullError,
  SerializationError,
  shutdown,
  stats,
  TimeoutError,
  warmUp,
  withCallOptions,
} from 'run-in-process';
import { CallLog } from '../helpers/call-log.js';
import { fixture, fixtureUrl, scratchFile, waitForFile } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';

type PooledModule = typeof import('../fixtures/src/pooled.js');
const { inPool } = await fixture<PooledModule>('standard', 'pooled');

after(() => shutdown());

test('stats() counts what calls came to, and with recordTiming how long they waited and ran', async () => {
  assert.deepEqual(stats('stats'), {
    queued: 0,
    running: 0,
    completed: 0,
    failed: 0,
    crashed: 0,
    timedOut: 0,
    aborted: 0,
    shed: 0,
    children: { busy: 0, idle: 0, starting: 0, recycled: 0 },
  });
  const keysBefore = Object.keys(stats('stats'));
  configure('stats', { size: 1, recordTiming: true });
  const { pid, fail, exit, spin, unsendable } = inPool('stats');
  await Promise.all([pid(), pid(), pid()]);
  // The same keys in the same order once it runs (a log or a JSON diff reads the same), timing aside.
  assert.deepEqual(
    Object.keys(stats('stats')).filter((key) => key !== 'waitTime' && key !== 'runTime'),
    keysBefore,
  );
  await rejectionOf(fail('mine'), RangeError);
  // Answered, but with what the library could not send back, not with the code's own answer.
  await rejectionOf(unsendable(), SerializationError);
  await rejectionOf(exit(5));
  await rejectionOf(
    withCallOptions({ timeout: 100 }, () => spin(5_000)),
    TimeoutError,
  );
  const controller = new AbortController();
  controller.abort();
  await rejectionOf(withCallOptions({ signal: controller.signal }, () => pid()));
  const seen = stats('stats');
  assert.equal(seen.completed, 4, 'three values and the error the code threw');
  assert.equal(seen.failed, 4, 'the unsendable result, the crash, the timeout and the abort');
  assert.deepEqual([seen.crashed, seen.timedOut, seen.aborted], [1, 1, 1]);
  assert.deepEqual([seen.queued, seen.running], [0, 0]);
  assert.ok(seen.waitTime && seen.runTime, 'timing was recorded');
  assert.equal(seen.runTime.count, 7, 'every call that started');
  const { min, p50, p99, max, mean } = seen.runTime;
  assert.ok(0 < min && min <= p50 && p50 <= p99 && p99 <= max && mean <= max, JSON.stringify(seen.runTime));
  assert.equal(seen.waitTime.count, 7);
  assert.ok(seen.children.busy + seen.children.idle + seen.children.starting <= 1);
});

test('with recordTiming, a pool that has not started, or not again since shutdown(), reports empty times, in the same shape', async () => {
  const none = { count: 0, min: 0, max: 0, mean: 0, p50: 0, p99: 0 };
  configure('stats-timed', { size: 1, recordTiming: true });
  const before = stats('stats-timed');
  assert.deepEqual([before.waitTime, before.runTime], [none, none]);
  await inPool('stats-timed').pid();
  const started = stats('stats-timed');
  assert.deepEqual(Object.keys(before), Object.keys(started), 'the same keys in the same order');
  assert.equal(started.runTime?.count, 1);
  await shutdown();
  const closed = stats('stats-timed');
  assert.deepEqual([closed.waitTime, closed.runTime], [none, none]);
  configure('stats-timed', { size: 1 });
  assert.equal(stats('stats-timed').waitTime, undefined, 'not asked for');
});

test('recordTiming times a call as its child ran it, even while this process was too busy to hear of it', async () => {
  // Warmed, not called: the warm-up is not counted, and its module is imported before the first spin.
  configure('stats-busy-parent', {
    size: 1,
    minChildren: 1,
    recordTiming: true,
    preload: [fixtureUrl('standard', 'pooled')],
  });
  await warmUp('stats-busy-parent');
  const { spin } = inPool('stats-busy-parent');
  const calls = [spin(50), spin(50), spin(50)];
  // The first call runs while this event loop is blocked: its start and its answer are read together.
  const until = Date.now() + 600;
  while (Date.now() < until);
  await Promise.all(calls);
  const { runTime, waitTime } = stats('stats-busy-parent');
  assert.ok(runTime && waitTime);
  assert.equal(runTime.count, 3);
  // Not ~0 ms (start and answer read at once) for the first spin, nor 600 ms: the 50 ms each ran.
  assert.ok(runTime.min >= 45 && runTime.max < 450, JSON.stringify(runTime));
  assert.ok(waitTime.max >= 45, `the calls behind the first waited for it: ${JSON.stringify(waitTime)}`);
});

test("stats() remembers the pool's calls when configure() replaces its children, or they cannot start, until shutdown()", async () => {
  const counts = () => {
    const { completed, failed, crashed } = stats('stats-kept');
    return { completed, failed, crashed };
  };
  configure('stats-kept', { size: 1 });
  const { pid, exit, hold } = inPool('stats-kept');
  await pid();
  await pid();
  await rejectionOf(exit(3));
  // A call still running on the children being replaced counts too, once it ends.
  const started = scratchFile('kept-hold');
  const release = scratchFile('kept-release');
  const holding = hold(started, release);
  await waitForFile(started);
  configure('stats-kept', { size: 2 });
  assert.deepEqual(counts(), { completed: 2, failed: 1, crashed: 1 });
  assert.equal(stats('stats-kept').running, 1, 'the call running on the old children');
  writeFileSync(release, '');
  await holding;
  await pid();
  assert.deepEqual(counts(), { completed: 4, failed: 1, crashed: 1 });
  // Children that cannot start: each call fails, and is counted.
  configure('stats-kept', { size: 1, execArgv: ['--no-such-flag'] });
  await rejectionOf(pid(), ChildStartupError);
  await rejectionOf(pid(), ChildStartupError);
  assert.deepEqual(counts(), { completed: 4, failed: 3, crashed: 1 });
  await shutdown();
  assert.deepEqual(counts(), { completed: 0, failed: 0, crashed: 0 }, 'a pool that has not started again');

  // While shutdown() drains the pool, stats() shows what it still runs and holds, not zeros.
  configure('stats-kept', { size: 1 });
  await pid();
  const drained = scratchFile('kept-drained');
  const releaseDrained = scratchFile('kept-drained-release');
  const draining = hold(drained, releaseDrained);
  const behind = pid();
  await waitForFile(drained);
  const closing = shutdown();
  const during = stats('stats-kept');
  assert.deepEqual(
    { completed: during.completed, queued: during.queued, running: during.running, busy: during.children.busy },
    { completed: 1, queued: 1, running: 1, busy: 1 },
  );
  writeFileSync(releaseDrained, '');
  await Promise.all([draining, behind, closing]);
  assert.deepEqual(counts(), { completed: 0, failed: 0, crashed: 0 }, 'closed: a pool that has not started again');

  // Children replaced by a configure() still drain when shutdown() comes: the children shown are
  // those of the pool shutdown() closes, its calls and the older pool's are counted.
  configure('stats-kept', { size: 1 });
  const releaseAll = scratchFile('kept-all-release');
  const [olderStarted, newerStarted1, newerStarted2] = ['kept-older', 'kept-newer-1', 'kept-newer-2'].map(scratchFile);
  const older = hold(olderStarted!, releaseAll);
  await waitForFile(olderStarted!);
  configure('stats-kept', { size: 2 });
  const newer = [hold(newerStarted1!, releaseAll), hold(newerStarted2!, releaseAll)];
  await waitForFile(newerStarted1!);
  await waitForFile(newerStarted2!);
  const closingBoth = shutdown();
  const both = stats('stats-kept');
  assert.deepEqual({ running: both.running, busy: both.children.busy }, { running: 3, busy: 2 });
  writeFileSync(releaseAll, '');
  await Promise.all([older, ...newer, closingBoth]);

  // A call made while shutdown() drains starts the pool again: its stats are its own, the calls of
  // the pool being closed neither in its queue nor, once they end, in its counts.
  configure('stats-kept', { size: 1 });
  const releaseClosing = scratchFile('kept-closing-release');
  const closingStarted = scratchFile('kept-closing');
  const inClosing = hold(closingStarted, releaseClosing).catch((error: unknown) => error);
  const behindInClosing = pid().catch((error: unknown) => error);
  await waitForFile(closingStarted);
  const closingAgain = shutdown({ deadline: 300 });
  const fresh = pid();
  const restarted = stats('stats-kept');
  assert.deepEqual({ queued: restarted.queued, running: restarted.running }, { queued: 1, running: 0 });
  assert.equal(typeof (await fresh), 'number');
  await closingAgain;
  writeFileSync(releaseClosing, '');
  await Promise.allSettled([inClosing, behindInClosing]);
  const after = stats('stats-kept');
  assert.deepEqual(
    { completed: after.completed, failed: after.failed, queued: after.queued, running: after.running },
    { completed: 1, failed: 0, queued: 0, running: 0 },
  );
});

test('with maxQueue, a call beyond it is refused at once with QueueFullError; the others run', async () => {
  configure('stats-queue', { size: 1, maxQueue: 2 });
  const { hold, pid } = inPool('stats-queue');
  const started = scratchFile('queue-hold');
  const release = scratchFile('queue-release');
  const holding = hold(started, release);
  await waitForFile(started);
  const waiting = [pid(), pid()];
  assert.equal(stats('stats-queue').queued, 2);
  const refused = await rejectionOf(pid(), QueueFullError);
  assert.equal(refused.code, 'ERR_QUEUE_FULL');
  assert.equal(refused.limit, 2);
  assert.match(refused.message, /2 calls already wait for a child, the pool's maxQueue \(2\)/);
  writeFileSync(release, '');
  assert.equal(typeof (await holding), 'number');
  for (const result of await Promise.all(waiting)) assert.equal(typeof result, 'number');
  // Shed load is told apart from calls that went wrong, as crashes and timeouts are: a subset of failed.
  const { failed, shed, crashed, timedOut, aborted } = stats('stats-queue');
  assert.deepEqual(
    { failed, shed, crashed, timedOut, aborted },
    { failed: 1, shed: 1, crashed: 0, timedOut: 0, aborted: 0 },
  );
});

test('maxQueue holds while batches end: of calls made one turn after warmUp(), only the ones children take at once and maxQueue more are let in', async () => {
  configure('stats-queue-ending', { size: 2, minChildren: 2, maxQueue: 2 });
  const { step } = inPool('stats-queue-ending');
  await warmUp('stats-queue-ending');
  // The warm-up's last batch is closing on its child now: its slot holds no running call.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const log = scratchFile('queue-ending-log');
  const calls = Array.from({ length: 50 }, (_, index) => step(log, index, { sleepMs: 50 }));
  const outcomes = await Promise.allSettled(calls);
  const refused = outcomes.filter((o) => o.status === 'rejected');
  for (const { reason } of refused) assert.ok(reason instanceof QueueFullError, String(reason));
  // Two go to the two children, two may wait: before the fix, all 50 were let in.
  assert.equal(outcomes.length - refused.length, 4);
});

test('a child whose batch is ending, every call answered, counts as idle, not busy', async () => {
  configure('stats-busy-ending', { size: 2, minChildren: 2 });
  const { pid } = inPool('stats-busy-ending');
  await warmUp('stats-busy-ending');
  await Promise.all(Array.from({ length: 10 }, () => pid()));
  // The batches close at the next turn, and their children say they ended them a moment later.
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(stats('stats-busy-ending').children, { busy: 0, idle: 2, starting: 0, recycled: 0 });
});

test("with callsPerChild above 1, busy counts the children that run a call, whatever other children's batches hold", async () => {
  configure('stats-busy-shared', { size: 2, callsPerChild: 4 });
  const { stream, step } = inPool('stats-busy-shared');
  const log = scratchFile('busy-shared-log');
  const release = scratchFile('busy-shared-release');
  const items = stream(log, 3, release);
  assert.equal((await items.next()).value, 0);
  await Promise.all([step(log, 10, { sleepMs: 10 }), step(log, 11, { sleepMs: 10 })]);
  // The stream's child runs it; the batches those calls leave open, answered, run nothing.
  assert.equal(stats('stats-busy-shared').children.busy, 1);
  writeFileSync(release, '');
  for await (const _ of items);
});

test("a child killed for a call's timeout or abort counts as neither busy nor idle while it dies", async () => {
  configure('stats-dying', { size: 1 });
  const { pid, step } = inPool('stats-dying');
  const log = scratchFile('dying-log');
  for (const stop of ['timeout', 'abort'] as const) {
    await pid();
    const controller = new AbortController();
    const options = stop === 'timeout' ? { timeout: 200 } : { signal: controller.signal };
    const hanging = withCallOptions(options, () => step(log, 1, 'hang'));
    if (stop === 'abort') setTimeout(() => controller.abort(), 200);
    await rejectionOf(hanging, stop === 'timeout' ? TimeoutError : Error);
    // Read as the call fails: its child was sent its kill, and has not exited yet.
    const { running, children } = stats('stats-dying');
    assert.deepEqual({ running, busy: children.busy, idle: children.idle }, { running: 0, busy: 0, idle: 0 }, stop);
  }
});

test('in an isolated pool, a child whose call has answered is not idle: it is being replaced, and takes nothing', async () => {
  configure('isolate-busy', { size: 2, isolate: true });
  const { step } = inPool('isolate-busy');
  const log = scratchFile('isolate-busy-log');
  const samples: string[] = [];
  const sampler = setInterval(() => {
    const { queued, children } = stats('isolate-busy');
    if (queued > 0 && children.idle > 0) samples.push(JSON.stringify({ queued, children }));
  }, 5);
  try {
    await Promise.all(Array.from({ length: 8 }, (_, index) => step(log, index, { sleepMs: 200 })));
  } finally {
    clearInterval(sampler);
  }
  assert.deepEqual(samples, [], 'no child counted idle while calls waited');
});

test('a call refused before it is sent (arguments that cannot cross) counts as failed, whether its pool had started or not', async () => {
  const { carry, pid } = inPool('stats-refused');
  const uncloneable = () => {};
  // Not started: the refusal is the pool's first call.
  await rejectionOf(carry('log', 0, 'value', uncloneable as unknown as Uint8Array), SerializationError);
  assert.equal(stats('stats-refused').failed, 1);
  await pid();
  await rejectionOf(carry('log', 1, 'value', uncloneable as unknown as Uint8Array), SerializationError);
  const { completed, failed } = stats('stats-refused');
  assert.deepEqual({ completed, failed }, { completed: 1, failed: 2 });
});

test('a call whose code never ran (its module did not load) counts as failed, not completed', async () => {
  configure('module-loading', { size: 1 });
  const { Broken } = await fixture<typeof import('../fixtures/src/broken-at-import.js')>(
    'standard',
    'broken-at-import',
  );
  for (let i = 0; i < 2; i++) await rejectionOf(Broken.never(), ModuleLoadError);
  const { completed, failed } = stats('module-loading');
  assert.deepEqual({ completed, failed }, { completed: 0, failed: 2 });
});

test('a call counts as queued until a child takes it: while the children boot, and in a batch sent after a crash', async () => {
  configure('stats-waiting', { size: 1 });
  const { hold, pid } = inPool('stats-waiting');
  // The machinery is loaded (another pool's stats), so calls reach the scheduler at once.
  await warmUpAnotherPool();
  const cold = [pid(), pid(), pid()];
  assert.deepEqual(pick(stats('stats-waiting')), { queued: 3, running: 0, starting: 1 }, 'no child has booted yet');
  await Promise.all(cold);
  const started = scratchFile('waiting-hold');
  const holding = hold(started, scratchFile('waiting-never'));
  await waitForFile(started);
  const behind = [pid(), pid(), pid()];
  assert.deepEqual(pick(stats('stats-waiting')), { queued: 3, running: 1, starting: 0 });
  process.kill(Number(readFileSync(started, 'utf8')), 'SIGKILL');
  await rejectionOf(holding, ProcessCrashedError);
  // The three calls now go to tinypool together, and wait there for the replacement to boot.
  assert.deepEqual(pick(stats('stats-waiting')), { queued: 3, running: 0, starting: 1 });
  for (const result of await Promise.all(behind)) assert.equal(typeof result, 'number');
  assert.deepEqual(pick(stats('stats-waiting')), { queued: 0, running: 0, starting: 0 });
});

function pick({ queued, running, children }: ReturnType<typeof stats>) {
  return { queued, running, starting: children.starting };
}

async function warmUpAnotherPool(): Promise<void> {
  configure('stats-waiting-loader', { size: 1 });
  await warmUp('stats-waiting-loader');
}

test('calls with a higher priority leave the queue first; FIFO within a priority', async () => {
  configure('priority', { size: 1 });
  const { hold, step, urgentStep } = inPool('priority');
  const started = scratchFile('priority-hold');
  const release = scratchFile('priority-release');
  const holding = hold(started, release);
  await waitForFile(started);
  const log = new CallLog();
  const calls = [
    step(log.path, 1, 'value'),
    withCallOptions({ priority: 5 }, () => step(log.path, 2, 'value')),
    step(log.path, 3, 'value'),
    withCallOptions({ priority: 10 }, () => step(log.path, 4, 'value')),
    urgentStep(log.path, 5),
  ];
  writeFileSync(release, '');
  await holding;
  await Promise.all(calls);
  assert.deepEqual(
    log.entries().map((entry) => entry.id),
    [4, 5, 2, 1, 3],
  );
});
