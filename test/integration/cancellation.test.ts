import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { AbortError, configure, shutdown, withCallOptions } from 'run-in-process';
import { CallLog } from '../helpers/call-log.js';
import { fixture, isAlive, scratchFile, waitFor, waitForFile } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';

type PooledModule = typeof import('../fixtures/src/pooled.js');
const { inPool } = await fixture<PooledModule>('standard', 'pooled');

after(() => shutdown());

test('a queued call is dropped without starting; the running one finishes', async () => {
  configure('cancel-queued', { size: 1 });
  const { hold } = inPool('cancel-queued');
  const [runningStarted, release, queuedStarted] = [
    scratchFile('running'),
    scratchFile('release'),
    scratchFile('queued'),
  ];
  const running = hold(runningStarted, release);
  await waitForFile(runningStarted);
  const controller = new AbortController();
  const queued = withCallOptions({ signal: controller.signal }, () => hold(queuedStarted, release));
  controller.abort(new Error('user gave up'));
  const error = await rejectionOf(queued, AbortError);
  assert.equal(error.name, 'AbortError');
  assert.equal((error.cause as Error).message, 'user gave up');
  writeFileSync(release, '');
  assert.equal(typeof (await running), 'number');
  assert.equal(existsSync(queuedStarted), false, 'the queued call never started');
});

test('with callsPerChild above 1, a call aborted while it waits for a child of its own is dropped; the parent lives', async () => {
  // tinypool moves such a call aside while its child is busy, where its abort found it missing: the
  // failed assertion, thrown in an abort listener, ended this process.
  configure('cancel-shared', { size: 1, callsPerChild: 2 });
  const { step } = inPool('cancel-shared');
  await step(scratchFile('warm-log'), 0, 'value');
  for (const afterMs of [0, 1, 2, 3, 5]) {
    const log = scratchFile(`shared-log-${afterMs}`);
    const controller = new AbortController();
    // The first two hold the child's two places for 200 ms: the abort, a few ms away, comes while
    // the third waits, even when a loaded machine fires its timer late.
    const calls = [
      step(log, 1, { sleepMs: 200 }),
      step(log, 2, { sleepMs: 200 }),
      withCallOptions({ signal: controller.signal }, () => step(log, 3, { sleepMs: 20 })),
    ];
    setTimeout(() => controller.abort(), afterMs);
    const settled = await Promise.allSettled(calls);
    assert.deepEqual(
      settled.map((result) => result.status),
      ['fulfilled', 'fulfilled', 'rejected'],
      `aborted after ${afterMs} ms`,
    );
    assert.ok((settled[2] as PromiseRejectedResult).reason instanceof AbortError);
    // A later call on the same child: the aborted one, had it been sent after all, would have run by then.
    await step(log, 4, 'value');
    const ran = readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ')[0]);
    assert.deepEqual(ran.sort(), ['1', '2', '4'], `aborted after ${afterMs} ms: what ran`);
  }
});

test('with callsPerChild above 1, a call with a signal made behind calls held for a booting child waits behind them, and its abort drops it there', async () => {
  // Such a call waits in the parent behind the calls before it (tinypool would serve it first: it
  // serves what it may abort before its queue), where an abort must still find it.
  configure('cancel-parked', { size: 1, callsPerChild: 4 });
  const { step } = inPool('cancel-parked');
  const log = new CallLog();
  const earlier = [100, 101, 102].map((index) => step(log.path, index, { sleepMs: 200 }));
  const controller = new AbortController();
  const dropped = withCallOptions({ signal: controller.signal }, () => step(log.path, 103, 'value'));
  const kept = withCallOptions({ signal: new AbortController().signal }, () => step(log.path, 104, 'value'));
  setTimeout(() => controller.abort(), 20);
  await rejectionOf(dropped, AbortError);
  await Promise.all([...earlier, kept]);
  const order = log.entries().map((entry) => entry.id);
  assert.deepEqual(order.slice(0, 3).sort(), [100, 101, 102], `the calls made first ran first: ${order.join(', ')}`);
  assert.deepEqual(order.slice(3), [104], 'the aborted call never ran');
});

test('aborting a running call kills its child; the next call gets a new one', async () => {
  configure('cancel-running', { size: 1 });
  const { pid, spin } = inPool('cancel-running');
  const first = await pid();
  const started = scratchFile('started');
  const controller = new AbortController();
  const call = withCallOptions({ signal: controller.signal }, () => spin(30_000, started));
  assert.equal(Number(await waitForFile(started)), first, 'the call runs in the child that answered first');
  controller.abort();
  await rejectionOf(call, AbortError);
  assert.ok((await waitFor(() => !isAlive(first), 5_000)) !== undefined, 'the busy child was killed');
  assert.notEqual(await pid(), first);
});

test("a signal whose own `aborted` and `reason` getters throw aborts its calls as any other does: the parent lives, the cause is the signal's reason", async () => {
  configure('cancel-reason', { size: 1 });
  const { hold } = inPool('cancel-reason');
  const [started, release] = [scratchFile('reason-started'), scratchFile('reason-release')];
  const controller = new AbortController();
  for (const key of ['aborted', 'reason'])
    Object.defineProperty(controller.signal, key, {
      get() {
        throw new Error('a careless getter');
      },
    });
  const running = withCallOptions({ signal: controller.signal }, () => hold(started, release));
  await waitForFile(started);
  controller.abort(new Error('user gave up'));
  assert.equal(((await rejectionOf(running, AbortError)).cause as Error).message, 'user gave up');
  // Already aborted when the call is made.
  const late = withCallOptions({ signal: controller.signal }, () => hold(started, release));
  assert.equal(((await rejectionOf(late, AbortError)).cause as Error).message, 'user gave up');
});
