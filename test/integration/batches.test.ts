import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import diagnosticsChannel from 'node:diagnostics_channel';
import { after, test } from 'node:test';
import {
  type ChildExit,
  configure,
  ProcessCrashedError,
  shutdown,
  stats,
  TimeoutError,
  withCallOptions,
} from 'run-in-process';
import { CallLog, ids } from '../helpers/call-log.js';
import { childPids, fixture, scratchFile, waitFor, waitForFile } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';

// Calls that find every child busy wait in the parent, then go to a child several at a time.
// These tests send many more calls than there are children, so that most calls travel in batches.
// A call that hangs in a batch is in timeouts.test.ts.

type PooledModule = typeof import('../fixtures/src/pooled.js');
const { inPool } = await fixture<PooledModule>('standard', 'pooled');

after(() => shutdown());

test('calls in bulk each run exactly once and get their own result, even when children crash among them', async () => {
  configure('batches-bulk', { size: 2 });
  const { step } = inPool('batches-bulk');
  const log = new CallLog();
  const total = 3_000;
  const crashing = new Set([400, 401, 1_500, 2_999]);
  const results = await Promise.allSettled(
    ids(total).map((index) => step(log.path, index, crashing.has(index) ? 'crash' : 'value')),
  );
  results.forEach((result, index) => {
    if (crashing.has(index)) {
      assert.equal(result.status, 'rejected', `call ${index} should have crashed`);
      assert.ok(result.reason instanceof ProcessCrashedError, `call ${index}: ${String(result.reason)}`);
      assert.equal(result.reason.exitCode, 9);
    } else {
      assert.equal(
        result.status,
        'fulfilled',
        `call ${index}: ${String(result.status === 'rejected' ? result.reason : '')}`,
      );
      assert.equal(result.value.index, index, `call ${index} got another call's result`);
    }
  });
  log.assertEachRanOnce(ids(total));
  await shutdown();
  assert.deepEqual(childPids(), [], 'no child process is left after shutdown()');
});

test('a child that reaches its call limit in the middle of a batch hands the rest to its successor', async () => {
  configure('batches-recycle', { size: 2, recycleAfterCalls: 7 });
  const { step } = inPool('batches-recycle');
  const log = new CallLog();
  const total = 300;
  const results = await Promise.all(ids(total).map((index) => step(log.path, index, 'value')));
  for (const [index, result] of results.entries()) assert.equal(result.index, index);
  const pids = new Set(results.map((result) => result.pid));
  assert.ok(pids.size >= total / 7, `${pids.size} children served ${total} calls at 7 calls each`);
  log.assertEachRanOnce(ids(total));
});

test('with callsPerChild above 1, a child runs no more calls than recycleAfterCalls: a call beside the last one is not started', async () => {
  configure('batches-recycle-side', { size: 2, callsPerChild: 2, recycleAfterCalls: 3 });
  const { step } = inPool('batches-recycle-side');
  const log = new CallLog();
  const total = 60;
  const results = await Promise.all(ids(total).map((index) => step(log.path, index, { sleepMs: 5 })));
  const perChild = new Map<number, number>();
  for (const result of results) perChild.set(result.pid, (perChild.get(result.pid) ?? 0) + 1);
  assert.ok(Math.max(...perChild.values()) <= 3, `calls per child: ${[...perChild.values()].join(', ')}`);
  log.assertEachRanOnce(ids(total));
});

test('slow calls are not held behind one another in a batch while another child is free', async () => {
  configure('batches-slow', { size: 2 });
  const { step } = inPool('batches-slow');
  const log = new CallLog();
  // Start both children, so that the two calls below land on different ones.
  await Promise.all([step(log.path, -1, { sleepMs: 50 }), step(log.path, -2, { sleepMs: 50 })]);
  const long = step(log.path, 0, { sleepMs: 250 });
  const short = step(log.path, 1, 'value');
  // Both children are busy: these four wait, and go as one batch to the first child to be free,
  // the one that ran `short`. Past the first of them, the rest go back and are shared out.
  // The other child runs them one after another, 200 ms each: the busy one, free at 250 ms, takes
  // one of those still waiting at 400 ms (a margin that a loaded machine's late timers leave).
  const waiting = [2, 3, 4, 5].map((index) => step(log.path, index, { sleepMs: 200 }));
  const [longResult, shortResult, ...waited] = await Promise.all([long, short, ...waiting]);
  assert.notEqual(longResult.pid, shortResult.pid, 'the first two calls ran in different children');
  const onLongsChild = waited.filter((result) => result.pid === longResult.pid).length;
  assert.ok(onLongsChild >= 1, `the child that was busy for 250 ms then ran ${onLongsChild} of the four 200 ms calls`);
});

test('calls that reach a child just as it closes its batch are sent again, and run exactly once', async () => {
  configure('batches-resend', { size: 2 });
  const { step } = inPool('batches-resend');
  const log = new CallLog();
  // A child keeps a batch open for about a millisecond after its last call, for the next call to
  // go straight to it. Pauses around that moment make some calls arrive after it closed.
  const total = 400;
  const pauses = [0, 0.5, 0.9, 1, 1.1, 1.5, 2];
  const results = [];
  for (let index = 0; index < total; index++) {
    const pause = pauses[index % pauses.length]!;
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    results.push(await step(log.path, index, 'value'));
  }
  for (const [index, result] of results.entries()) assert.equal(result.index, index);
  log.assertEachRanOnce(ids(total));
});

test('a caller that keeps a child busy call after call does not keep a call that goes alone waiting', async () => {
  configure('batches-alone', { size: 1 });
  const { pid } = inPool('batches-alone');
  let stop = false;
  let calls = 0;
  // Each call is made the moment the last one is answered, so the child's batch never falls idle.
  const busy = (async () => {
    while (!stop) {
      await pid();
      calls++;
    }
  })();
  while (calls < 200) await new Promise((resolve) => setTimeout(resolve, 5));
  const before = calls;
  // A call with an AbortSignal goes alone, as a tinypool task, which waits in tinypool's queue.
  await withCallOptions({ signal: new AbortController().signal }, () => pid());
  const overtaken = calls - before;
  stop = true;
  await busy;
  // It goes as soon as the child answers the call it is running: a call or two, not hundreds.
  assert.ok(overtaken < 50, `the call with a signal waited while the other caller made ${overtaken} calls`);
});

test('calls with large payloads (their batch goes first, they follow on the channel) each run once with their own result', async () => {
  configure('batches-large', { size: 2 });
  const { carry } = inPool('batches-large');
  const log = new CallLog();
  const total = 40;
  const crashing = new Set([7, 25]);
  // 600 KiB each: a batch of them is past the size where its calls travel apart from tinypool's task.
  const payload = (index: number) => Buffer.alloc(600 * 1024, index);
  const results = await Promise.allSettled(
    ids(total).map((index) => carry(log.path, index, crashing.has(index) ? 'crash' : 'value', payload(index))),
  );
  results.forEach((result, index) => {
    if (crashing.has(index)) {
      assert.equal(result.status, 'rejected', `call ${index} should have crashed`);
      assert.ok(result.reason instanceof ProcessCrashedError, `call ${index}: ${String(result.reason)}`);
      return;
    }
    assert.equal(result.status, 'fulfilled', `call ${index}: ${String(result.status === 'rejected' && result.reason)}`);
    assert.deepEqual(
      { ...result.value, pid: 0 },
      { index, pid: 0, bytes: 600 * 1024, first: index, last: index },
      `call ${index} got another call's result`,
    );
  });
  log.assertEachRanOnce(ids(total));

  const hung = await withCallOptions({ timeout: 300 }, () => carry(log.path, total, 'hang', payload(1))).then(
    () => assert.fail('the hung call returned'),
    (error: unknown) => error,
  );
  assert.ok(hung instanceof TimeoutError, String(hung));
  const after = await carry(log.path, total + 1, 'value', payload(2));
  assert.equal(after.last, 2, 'the pool goes on');
});

for (const [pool, limit] of [
  // Its second call puts it at its limit as it starts (a call limit counts calls as they start).
  ['recycle-busy', { recycleAfterCalls: 2 }],
  ['heap-busy', { recycleAboveHeapMb: 1 }],
] as const) {
  test(`a child past its limit (${Object.keys(limit)[0]}) while it runs another call lets that call finish: none runs twice`, async () => {
    // Two calls side by side on one child: the quick one puts the child past its limit while the slow
    // one runs. The child must not leave (nor be stopped) under the slow one, which would lose it or,
    // worse, run it again on another child.
    configure(pool, { size: 1, callsPerChild: 2, ...limit });
    const { step } = inPool(pool);
    const log = new CallLog();
    const exits: ChildExit[] = [];
    const onExit = (message: unknown) => exits.push(message as ChildExit);
    diagnosticsChannel.subscribe('run-in-process:child:exit', onExit);
    try {
      // Long enough for the quick one to reach the child while it runs, on a loaded machine too.
      const slow = step(log.path, 0, { sleepMs: 2_000 });
      await waitFor(() => log.entries().length === 1, 5_000);
      const quick = await step(log.path, 1, 'value');
      const slowResult = await slow;
      assert.equal(slowResult.pid, quick.pid, 'both ran on the one child');
      const next = await step(log.path, 2, 'value');
      assert.notEqual(next.pid, quick.pid, 'the next call went to its successor');
      log.assertEachRanOnce(ids(3));
      await waitFor(() => exits.some((exit) => exit.pid === quick.pid), 5_000);
      const retired = exits.find((exit) => exit.pid === quick.pid);
      assert.deepEqual(
        { reason: retired?.reason, exitCode: retired?.exitCode, signal: retired?.signal },
        { reason: 'recycle', exitCode: 0, signal: null },
        'it left by itself, and is reported as recycled',
      );
      // Counted as recycled (a heap limit of 1 MB recycles the successor too, after its call).
      assert.ok(stats(pool).children.recycled >= 1, JSON.stringify(stats(pool)));
    } finally {
      diagnosticsChannel.unsubscribe('run-in-process:child:exit', onExit);
    }
  });
}

test('a child whose own code says it retires, then exits, does not get its call run again', async () => {
  // Only run-in-process's code says that a child retires, after a call; then, once no call of its
  // runs, that it leaves: the calls it did not answer then go to another child. Code in the child
  // that said it retired and exited had its call sent again each time, and a new child started for it.
  configure('forged-retire', { size: 1 });
  const { forgeRetiring, pid } = inPool('forged-retire');
  const runs = (log: CallLog) => log.entries().length;
  for (const timeout of [undefined, 10_000]) {
    const log = new CallLog();
    const crashed = await rejectionOf(
      withCallOptions({ timeout }, () => forgeRetiring(log.path, 'exit')),
      ProcessCrashedError,
    );
    assert.match(crashed.message, /running forged-retire:forgeRetiring crashed: it exited with code 0/);
    assert.equal(runs(log), 1, `it ran once (timeout ${timeout})`);
  }
  // Saying so and going on: the call is answered once, and the pool goes on.
  const answering = new CallLog();
  assert.equal(typeof (await forgeRetiring(answering.path, 'answer')), 'number');
  assert.equal(runs(answering), 1);
  assert.equal(typeof (await pid()), 'number');
});

test('children that recycle after every call, under load, lose no call, run none twice, and leave none waiting', async () => {
  // Every child retires after one call, so batches keep reaching children that are leaving (handed
  // back unrun), and calls that go alone (a signal, a stream) wait for a child that is gone.
  // (A child a call: each costs a child's boot, ~0.1 s here, hence few calls.)
  for (const [pool, options, total] of [
    ['recycle-load', { size: 2, recycleAfterCalls: 1 }, 60],
    ['recycle-load-2', { size: 2, callsPerChild: 2, recycleAfterCalls: 1 }, 60],
    ['recycle-load-1', { size: 1, recycleAfterCalls: 1 }, 30],
  ] as const) {
    configure(pool, options);
    const { step, stream } = inPool(pool);
    const log = new CallLog();
    const signal = new AbortController().signal;
    const calls = ids(total).map((index) =>
      index % 10 === 0
        ? withCallOptions({ signal }, () => step(log.path, index, 'value'))
        : step(log.path, index, 'value'),
    );
    const streamed = [0, 1, 2].map(async () => {
      const items: number[] = [];
      for await (const item of stream(scratchFile(`${pool}-stream`), 2)) items.push(item);
      return items;
    });
    const results = await Promise.all(calls);
    for (const [index, result] of results.entries()) assert.equal(result.index, index, `${pool}: call ${index}`);
    for (const items of await Promise.all(streamed)) assert.deepEqual(items, [0, 1]);
    log.assertEachRanOnce(ids(total));
  }
});

test('with callsPerChild, a burst made while the pool boots runs side by side, not one call after another', async () => {
  // tinypool gives a child that becomes ready one task of its queue: the others went one at a time,
  // each as the one before it ended (4 calls of 500 ms took 2.2 s on a cold pool, 0.5 s on a warm one).
  configure('hold-cold-burst', { size: 1, callsPerChild: 4 });
  const { hold } = inPool('hold-cold-burst');
  const release = scratchFile('cold-burst-release');
  const started = Array.from({ length: 4 }, (_, i) => scratchFile(`cold-burst-started-${i}`));
  const calls = started.map((file) => hold(file, release));
  try {
    const pids = await Promise.all(started.map((file) => waitForFile(file, 5_000)));
    assert.equal(new Set(pids).size, 1, 'all four on the one child');
  } finally {
    writeFileSync(release, '');
  }
  for (const pid of await Promise.all(calls)) assert.equal(typeof pid, 'number');
});
