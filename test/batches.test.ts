import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, test } from 'node:test';
import { configure, ProcessCrashedError, shutdown, TimeoutError, withCallOptions } from 'run-in-process';
import { childPids, fixture } from './helpers/fixtures.js';

// Calls that find every child busy wait in the parent, then go to a child several at a time.
// These tests send many more calls than there are children, so that most calls travel in batches.

type BatchesModule = typeof import('./fixtures/src/batches.js');
const { Batches } = await fixture<BatchesModule>('standard', 'batches');
const dir = mkdtempSync(join(tmpdir(), 'rip-batches-'));
let log = '';
let run = 0;
beforeEach(() => {
  log = join(dir, `run-${run++}.log`);
});
after(async () => {
  await shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** How many times each call index ran, from the log the children append to. */
function runsPerIndex(): Map<number, number> {
  const runs = new Map<number, number>();
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line) runs.set(Number(line), (runs.get(Number(line)) ?? 0) + 1);
  }
  return runs;
}

function settle<T>(promise: Promise<T>) {
  return promise.then(
    (value) => ({ value, error: undefined as unknown }),
    (error: unknown) => ({ value: undefined, error }),
  );
}

test('calls in bulk each run exactly once and get their own result, even when children crash among them', async () => {
  configure('batches', { size: 2 });
  const total = 3_000;
  const crashing = new Set([400, 401, 1_500, 2_999]);
  const results = await Promise.all(
    Array.from({ length: total }, (_, index) => settle(Batches.step(log, index, crashing.has(index) ? 'crash' : 'value'))),
  );
  results.forEach(({ value, error }, index) => {
    if (crashing.has(index)) {
      assert.ok(error instanceof ProcessCrashedError, `call ${index}: ${String(error)}`);
      assert.equal(error.exitCode, 9);
    } else {
      assert.equal(error, undefined, `call ${index}: ${String(error)}`);
      assert.equal(value?.index, index, `call ${index} got another call's result`);
    }
  });
  const runs = runsPerIndex();
  assert.equal(runs.size, total, 'every call ran');
  for (const [index, count] of runs) assert.equal(count, 1, `call ${index} ran ${count} times`);
  await shutdown();
  assert.deepEqual(childPids(), [], 'no child process is left after shutdown()');
});

test('a call that hangs in a batch times out alone; the calls behind it run exactly once, in another child', async () => {
  configure('batches', { size: 2 });
  const total = 1_000;
  const hanging = new Set([300, 700]);
  const results = await Promise.all(
    Array.from({ length: total }, (_, index) =>
      settle(withCallOptions({ timeout: 1_000 }, () => Batches.step(log, index, hanging.has(index) ? 'hang' : 'value'))),
    ),
  );
  results.forEach(({ value, error }, index) => {
    if (hanging.has(index)) assert.ok(error instanceof TimeoutError, `call ${index}: ${String(error)}`);
    else assert.equal(value?.index, index, `call ${index}: ${String(error)}`);
  });
  const runs = runsPerIndex();
  assert.equal(runs.size, total, 'every call ran');
  for (const [index, count] of runs) assert.equal(count, 1, `call ${index} ran ${count} times`);
});

test('a child that reaches its call limit in the middle of a batch hands the rest to its successor', async () => {
  configure('batches', { size: 2, recycleAfterCalls: 7 });
  const total = 300;
  const results = await Promise.all(Array.from({ length: total }, (_, index) => Batches.step(log, index, 'value')));
  results.forEach((result, index) => assert.equal(result.index, index));
  const pids = new Set(results.map((result) => result.pid));
  assert.ok(pids.size >= total / 7, `${pids.size} children served ${total} calls at 7 calls each`);
  const runs = runsPerIndex();
  assert.equal(runs.size, total, 'every call ran');
  for (const [index, count] of runs) assert.equal(count, 1, `call ${index} ran ${count} times`);
});

test('slow calls are not held behind one another in a batch while another child is free', async () => {
  configure('batches', { size: 2 });
  // Start both children, so that the two calls below land on different ones.
  await Promise.all([Batches.step(log, -1, { sleepMs: 50 }), Batches.step(log, -2, { sleepMs: 50 })]);
  const long = Batches.step(log, 0, { sleepMs: 250 });
  const short = Batches.step(log, 1, 'value');
  // Both children are busy: these four wait, and go as one batch to the first child to be free,
  // the one that ran `short`. Past the first of them, the rest go back and are shared out.
  const waiting = [2, 3, 4, 5].map((index) => Batches.step(log, index, { sleepMs: 100 }));
  const [longResult, shortResult, ...waited] = await Promise.all([long, short, ...waiting]);
  assert.notEqual(longResult.pid, shortResult.pid, 'the first two calls ran in different children');
  const onLongsChild = waited.filter((result) => result.pid === longResult.pid).length;
  assert.ok(onLongsChild >= 1, `the child that was busy for 250 ms then ran ${onLongsChild} of the four 100 ms calls`);
});

test('calls that reach a child just as it closes its batch are sent again, and run exactly once', async () => {
  configure('batches', { size: 2 });
  // A child keeps a batch open for about a millisecond after its last call, for the next call to
  // go straight to it. Pauses around that moment make some calls arrive after it closed.
  const total = 400;
  const pauses = [0, 0.5, 0.9, 1, 1.1, 1.5, 2];
  const results = [];
  for (let index = 0; index < total; index++) {
    const pause = pauses[index % pauses.length]!;
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    results.push(await Batches.step(log, index, 'value'));
  }
  results.forEach((result, index) => assert.equal(result.index, index));
  const runs = runsPerIndex();
  assert.equal(runs.size, total, 'every call ran');
  for (const [index, count] of runs) assert.equal(count, 1, `call ${index} ran ${count} times`);
});

test('a caller that keeps a child busy call after call does not keep a call that goes alone waiting', async () => {
  configure('batches', { size: 1 });
  let stop = false;
  let calls = 0;
  // Each call is made the moment the last one is answered, so the child's batch never falls idle.
  const busy = (async () => {
    while (!stop) {
      await Batches.pid();
      calls++;
    }
  })();
  while (calls < 200) await new Promise((resolve) => setTimeout(resolve, 5));
  const before = calls;
  // A call with an AbortSignal goes alone, as a tinypool task, which waits in tinypool's queue.
  await withCallOptions({ signal: new AbortController().signal }, () => Batches.pid());
  const overtaken = calls - before;
  stop = true;
  await busy;
  // It goes as soon as the child answers the call it is running: a call or two, not hundreds.
  assert.ok(overtaken < 50, `the call with a signal waited while the other caller made ${overtaken} calls`);
});
