import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// The backlog's policy on its own: which waiting calls go next, and how many together. The tests
// in batches.test.ts send real batches to real children; these pin down the sizes.

type Queued = import('../../build/lib/pool/pending-call.js').PendingCall;
const { Backlog } = await internal<typeof import('../../build/lib/pool/backlog.js')>('pool/backlog.js');

/** A waiting call as the backlog sees it: it reads only whether the call has settled and its task. */
function waiting(count: number, from = 0): Queued[] {
  return Array.from(
    { length: count },
    (_, i) => ({ settled: false, task: ['call', '{}', from + i, [], undefined, false] }) as unknown as Queued,
  );
}

const ids = (batch: Queued[]) => batch.map((queued) => queued.task[2]);

test('batches double after each finished batch, up to 64 calls', () => {
  const backlog = new Backlog();
  for (const queued of waiting(1_000)) backlog.push(queued);
  const sizes: number[] = [];
  for (let i = 0; i < 7; i++) {
    const batch = backlog.take(1);
    sizes.push(batch.length);
    backlog.learn(false);
  }
  assert.deepEqual(sizes, [4, 8, 16, 32, 64, 64, 64]);
});

test('a batch closed early for a slow call makes calls go one at a time; a quick one lets batching resume', () => {
  const backlog = new Backlog();
  for (const queued of waiting(100)) backlog.push(queued);
  const first = backlog.take(1);
  backlog.learn(true);
  backlog.returnUnstarted(first.slice(1));
  assert.equal(backlog.limit, 1);
  assert.deepEqual(ids(backlog.take(1)), [1], 'the calls sent back go first');
  backlog.learn(true);
  assert.deepEqual(ids(backlog.take(1)), [2]);
  backlog.learn(false);
  assert.deepEqual(ids(backlog.take(1)), [3, 4]);
});

test('with several slots free, a batch takes only its share of what waits, and settled calls are skipped', () => {
  const backlog = new Backlog();
  const calls = waiting(6);
  (calls[1] as unknown as { settled: boolean }).settled = true;
  for (const queued of calls) backlog.push(queued);
  assert.deepEqual(ids(backlog.take(3)), [0], 'two of six for one of three free slots, less the settled one');
  assert.deepEqual(ids(backlog.take(2)), [2, 3]);
  assert.equal(backlog.size, 2);
});

test('a batch holds no more than about 256 KiB of arguments, and always at least one call', () => {
  const backlog = new Backlog();
  const big = (id: number) =>
    ({ settled: false, task: ['call', '{}', id, new Uint8Array(100 * 1024), undefined, false] }) as unknown as Queued;
  backlog.push(big(0));
  backlog.push(big(1));
  backlog.push(big(2));
  backlog.push(big(3));
  backlog.push({
    settled: false,
    task: ['call', '{}', 4, [new Uint8Array(1024 * 1024)], undefined, false],
  } as unknown as Queued);
  assert.deepEqual(ids(backlog.take(1)), [0, 1], 'a third call of 100 KiB would pass 256 KiB');
  assert.deepEqual(ids(backlog.take(1)), [2, 3]);
  assert.deepEqual(ids(backlog.take(1)), [4], 'a call larger than the budget goes alone');
});

test('calls with a higher priority leave first, in the order they came within a priority', () => {
  const backlog = new Backlog();
  const call = (id: number, priority: number) =>
    ({ settled: false, priority, task: ['call', '{}', id, [], undefined, false] }) as unknown as Queued;
  for (const [id, priority] of [
    [1, 0],
    [2, 5],
    [3, 0],
    [4, 5],
    [5, -1],
    [6, 10],
  ] as const) {
    backlog.push(call(id, priority));
  }
  const order: number[] = [];
  while (backlog.size > 0) order.push(...ids(backlog.take(1)).map(Number));
  assert.deepEqual(order, [6, 2, 4, 1, 3, 5]);
});

test('with unbounded free slots (a remote pool), a waiting call still goes: never a batch of none', () => {
  const backlog = new Backlog();
  for (const queued of waiting(3)) backlog.push(queued);
  const taken = backlog.take(Number.POSITIVE_INFINITY);
  assert.ok(taken.length > 0, 'a take of none would make the scheduler loop for ever');
});

test('calls handed back take their places again: after higher priorities that came meanwhile, before later calls of theirs', () => {
  const backlog = new Backlog();
  const call = (id: number, priority: number) =>
    ({ settled: false, priority, task: ['call', '{}', id, [], undefined, false] }) as unknown as Queued;
  // Two batches of one child (callsPerChild 2) took the four calls that waited first; each ran one
  // call, was slow, and handed the rest back, the lower-priority batch's first.
  const first = [call(1, 3), call(2, 3), call(3, 3)];
  const second = [call(4, 2), call(5, 2), call(6, 1)];
  for (const queued of [call(7, 1), call(8, 0), call(9, 5)]) backlog.push(queued);
  backlog.returnUnstarted(second.slice(1));
  backlog.returnUnstarted(first.slice(1));
  const order: number[] = [];
  while (backlog.size > 0) order.push(...ids(backlog.take(1)).map(Number));
  assert.deepEqual(order, [9, 2, 3, 5, 6, 7, 8]);
});
