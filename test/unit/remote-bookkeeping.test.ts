import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// The remote pool's bookkeeping on its own: what a caller makes of a worker's words about calls it
// holds unrun (held-words.ts), and which jobs a closing worker hands back (running-jobs.ts). The
// tests in remote.test.ts drive both through a real Redis and real workers; these pin down each
// rule, including orders of events that are hard to bring about there.

type MadeCall = import('../../build/lib/pool/scheduler.js').MadeCall;
const { HeldWords } = await internal<typeof import('../../build/lib/remote/held-words.js')>('remote/held-words.js');
const { RunningJobs } =
  await internal<typeof import('../../build/lib/remote/running-jobs.js')>('remote/running-jobs.js');

test('a held call starts once, when its worker says so in the same take or a later one', () => {
  const words = new HeldWords();
  assert.equal(words.started(0, 1), false, "'started' of a call never said held: nothing to start");
  assert.equal(words.held(0, 1), true);
  assert.equal(words.started(0, 2), true, 'a later take may start it');
  assert.equal(words.started(0, 2), false, 'started once');
  assert.equal(words.held(0, 2), false, "'held' replayed after 'started' in the same take");
  assert.equal(words.held(0, 3), true, 'a later take may hold it again');
});

test('words of an earlier take are not taken after the job was taken again', () => {
  const words = new HeldWords();
  words.held(0, 1);
  words.held(1, 1);
  words.held(2, 1);
  assert.equal(words.started(2, 1), true);
  assert.deepEqual(words.takenAgain(), [0, 1], 'the calls still held start with the next take');
  assert.deepEqual(words.takenAgain(), [], 'once');
  assert.equal(words.held(0, 1), false, "a late 'held' of the first take");
  assert.equal(words.started(1, 1), false, "a late 'started' of the first take");
  assert.equal(words.held(1, 2), true, 'the second take holds it in turn');
  assert.equal(words.started(1, 2), true);
});

/** A call as the worker's bookkeeping sees it: whether it went to a child, and how it was failed. */
function call(sent: boolean): MadeCall & { failed: Error[] } {
  const failed: Error[] = [];
  return { sent, hasStarted: sent, settled: false, onStarted: undefined, failed, fail: (e) => failed.push(e as Error) };
}

test('a closing worker hands back the jobs none of whose calls went to a child, once', () => {
  const jobs = new RunningJobs(60_000);
  const [held, mixed, ran] = [call(false), call(false), call(true)];
  jobs.begin('held').add(held);
  const second = jobs.begin('mixed');
  second.add(mixed);
  second.add(ran);
  jobs.begin('empty');
  jobs.handBack();
  assert.match(held.failed[0]?.message ?? '', /Job held was handed back unrun/);
  assert.deepEqual([mixed.failed, ran.failed], [[], []], 'a job with a call that ran stays');
  assert.equal(jobs.takeHandedBack('held'), true);
  assert.equal(jobs.takeHandedBack('held'), false, 'asked once');
  assert.equal(jobs.takeHandedBack('mixed'), false);
  assert.equal(jobs.takeHandedBack('empty'), false, 'no call made yet: its processor goes on');
});

test('a request to stop a job fails its calls, or waits for a job not held or not started yet', () => {
  const jobs = new RunningJobs(60_000);
  const running = call(true);
  jobs.begin('a').add(running);
  jobs.stop('a');
  assert.equal(running.failed[0]?.name, 'AbortError');
  assert.equal(jobs.stoppedEarly('a'), false, 'its calls were stopped: nothing kept');

  jobs.stop('not-yet');
  jobs.begin('not-yet');
  assert.equal(jobs.stoppedEarly('not-yet'), true, 'heard before the job was taken');
  assert.equal(jobs.stoppedEarly('not-yet'), false, 'used up');

  jobs.begin('no-calls');
  jobs.stop('no-calls');
  assert.equal(jobs.stoppedEarly('no-calls'), true, 'taken, its calls not made yet');

  const unrun = call(false);
  jobs.begin('back').add(unrun);
  jobs.handBack();
  jobs.stop('back');
  assert.equal(jobs.stoppedEarly('back'), true, 'being handed back: its processor must not put it back in the queue');
});

test('idle() waits for the jobs held to end', async () => {
  const jobs = new RunningJobs(60_000);
  jobs.begin('a');
  let idle = false;
  const waiting = jobs.idle().then(() => (idle = true));
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.equal(idle, false);
  jobs.end('a');
  await waiting;
  assert.equal(idle, true);
});

const { ReleaseGate } =
  await internal<typeof import('../../build/lib/remote/release-gate.js')>('remote/release-gate.js');

/**
 * A gate over `total` calls whose counts are written as told, with the turns each call got. Its
 * clock stands still unless a test moves it (`clock.ms`): on a loaded machine, a few milliseconds
 * between two lines of a test made the windows smaller (CI saw [4, 39, 40] for [4, 40]).
 */
function gateOf(
  total: number,
  written: (count: number) => Promise<boolean> = async () => true,
  first = 0,
  clock = { ms: 0 },
) {
  const counts: number[] = [];
  const gate = new ReleaseGate(
    total,
    4,
    first,
    (count) => {
      counts.push(count);
      return written(count);
    },
    (reason) => () => new Error(reason === 'refused' ? 'refused' : `failed: ${reason.message}`),
    () => clock.ms,
  );
  const turns = Array.from({ length: total }, (_, index) =>
    gate.turn(index).then(
      () => 'went',
      (error: Error) => error.message,
    ),
  );
  const state = new Array<string>(total).fill('waits');
  turns.forEach((turn, index) => void turn.then((outcome) => (state[index] = outcome)));
  return { gate, counts, state };
}
const turnOver = () => new Promise((resolve) => setImmediate(resolve));

test('a job of slow calls goes to the pool a window at a time, each count written before its calls go', async () => {
  const clock = { ms: 0 };
  const { gate, counts, state } = gateOf(12, async () => true, 0, clock);
  await turnOver();
  assert.deepEqual(counts, [4], 'the first window, its count written as it goes');
  assert.equal(state.filter((s) => s === 'went').length, 4);
  clock.ms = 150; // Slow calls: the window stays at its least.
  gate.settled();
  await turnOver();
  assert.deepEqual(counts, [4], 'three still run: more than half a window');
  gate.settled();
  await turnOver();
  assert.deepEqual(counts, [4, 6]);
  assert.deepEqual(state.slice(0, 7), ['went', 'went', 'went', 'went', 'went', 'went', 'waits']);
});

test('a job of quick calls goes nearly whole after its first window', async () => {
  const { gate, counts, state } = gateOf(40);
  await turnOver();
  gate.settled();
  gate.settled();
  await turnOver();
  assert.deepEqual(counts, [4, 40]);
  assert.ok(state.every((s) => s === 'went'));
});

test('a job of targets that were quick on this worker goes whole at once', async () => {
  const { counts, state } = gateOf(40, async () => true, 64);
  await turnOver();
  assert.deepEqual(counts, [40]);
  assert.ok(state.every((s) => s === 'went'));
});

test('a count refused (its caller took the worker for lost) or not written lets no more calls go; nor does a stop', async () => {
  const refused = gateOf(8, async (count) => count === 4);
  await turnOver();
  refused.gate.settled();
  refused.gate.settled();
  await turnOver();
  assert.deepEqual(refused.state, ['went', 'went', 'went', 'went', 'refused', 'refused', 'refused', 'refused']);
  await assert.rejects(refused.gate.turn(7), /refused/);

  const failed = gateOf(8, async (count) => {
    if (count > 4) throw new Error('NOPERM');
    return true;
  });
  await turnOver();
  failed.gate.settled();
  failed.gate.settled();
  await turnOver();
  assert.equal(failed.state[4], 'failed: NOPERM');

  const stopped = gateOf(8);
  await turnOver();
  stopped.gate.stop(() => new Error('stopped'));
  await turnOver();
  assert.deepEqual(stopped.state.slice(3), ['went', 'stopped', 'stopped', 'stopped', 'stopped']);
});

const { CallPaces } = await internal<typeof import('../../build/lib/remote/call-paces.js')>('remote/call-paces.js');

test("a job's first window is as many calls as its slowest target settles in the pace, once each was seen", () => {
  const paces = new CallPaces();
  const call = (key: string, ms: number) => {
    paces.sent(key);
    paces.settled(key, ms);
  };
  assert.equal(paces.callsIn(100, ['a'], 2), undefined, 'never seen');
  call('a', 2);
  call('b', 400);
  assert.equal(paces.callsIn(100, ['a'], 2), 100, '2 children, 2 ms a call');
  assert.equal(paces.callsIn(100, ['a', 'b'], 2), 1, 'the slowest decides');
  assert.equal(paces.callsIn(100, ['a', 'c'], 2), undefined);
  call('a', 12); // a moving average: 2 · 0.8 + 12 · 0.2
  assert.equal(paces.callsIn(100, ['a'], 2), 50);
  // 40 calls in flight that take 20 ms each, their wait included: 2 settle each ms.
  for (let i = 0; i < 40; i++) paces.sent('c');
  paces.settled('c', 20);
  assert.equal(paces.callsIn(100, ['c'], 2), 195, '39 in flight over 20 ms');
});

test('a closing worker does not hand back a job whose calls go a window at a time once one of them has settled', async () => {
  const jobs = new RunningJobs(60_000);
  const fresh = jobs.gate(
    'fresh',
    new ReleaseGate(
      8,
      2,
      0,
      async () => true,
      () => () => new Error('refused'),
    ),
  );
  const halfway = jobs.gate(
    'halfway',
    new ReleaseGate(
      8,
      2,
      0,
      async () => true,
      () => () => new Error('refused'),
    ),
  );
  const [unsent, next] = [call(false), call(false)];
  jobs.begin('fresh').add(unsent);
  // Its first window ran and settled; a call of the next waits in the pool, not sent to a child yet.
  halfway.settled();
  jobs.begin('halfway').add(next);
  jobs.handBack();
  assert.equal(jobs.takeHandedBack('fresh'), true);
  await assert.rejects(fresh.turn(5), /handed back unrun/, 'and its gate lets no more calls go');
  assert.equal(jobs.takeHandedBack('halfway'), false, 'another worker would run its first window again');
  assert.deepEqual(next.failed, []);
});
