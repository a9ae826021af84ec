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
