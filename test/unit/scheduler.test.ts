import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { internal } from '../helpers/internal.js';

// The public entry from the same build as the modules under test (helpers/internal.ts).
const { AbortError, PoolClosedError, ProcessCrashedError, QueueFullError, RunInProcessError, TimeoutError } =
  await internal<typeof import('../../build/lib/index.js')>('index.js');
import { rejectionOf } from '../helpers/rejection.js';

// The scheduler's policy against a fake transport that only records what it is asked and reports
// what the test says: which calls go where, what is sent again, who is blamed, that every call
// settles once. The integration tests run the same policy against real children.

type Transport = import('../../build/lib/pool/transport.js').Transport;
type TransportEvents = import('../../build/lib/pool/transport.js').TransportEvents;
type BatchTask = import('../../build/lib/protocol.js').BatchTask;
type CallTask = import('../../build/lib/protocol.js').CallTask;
type Steer = import('../../build/lib/protocol.js').Steer;
type Value = import('../../build/lib/protocol.js').Value;
const { Scheduler } = await internal<typeof import('../../build/lib/pool/scheduler.js')>('pool/scheduler.js');
// The library keeps real time under a test's fake timers: these tests point it at theirs.
const { timersOfGlobals } =
  await internal<typeof import('../../build/lib/shared/real-clock.js')>('shared/real-clock.js');

class FakeTransport implements Transport {
  readonly runsIn = 'the fake worker';
  waiting = 0;
  acceptAppends = true;
  streaming = true;
  readonly steered: Array<{ batch: number; call: number; steer: Steer }> = [];
  readonly submitted: Array<{ task: BatchTask; exclusive: boolean }> = [];
  readonly appended: Array<{ batch: number; calls: CallTask[] }> = [];
  readonly closed: number[] = [];
  readonly cancelled: number[] = [];
  destroyed = false;

  constructor(
    readonly events: TransportEvents,
    readonly capacity: number,
  ) {}

  submit(task: BatchTask, exclusive: boolean): void {
    this.submitted.push({ task, exclusive });
  }
  append(batch: number, calls: CallTask[]): boolean {
    if (!this.acceptAppends) return false;
    this.appended.push({ batch, calls });
    return true;
  }
  steer(batch: number, call: number, steer: Steer): boolean {
    this.steered.push({ batch, call, steer });
    return true;
  }
  close(batch: number): void {
    this.closed.push(batch);
  }
  cancel(batch: number): void {
    this.cancelled.push(batch);
  }
  async destroy(): Promise<void> {
    this.destroyed = true;
  }
  children() {
    return { busy: 0, idle: 0, starting: 0, recycled: 0 };
  }
  async warmUp(): Promise<void> {}

  /** The id of the nth batch submitted, and the ids of its calls. */
  batch(index: number): { id: number; calls: number[] } {
    const entry = this.submitted[index];
    assert.ok(entry, `batch #${index} was submitted`);
    return { id: entry.task[1], calls: entry.task[2].map((call) => call[2]) };
  }
}

/** Every scheduler a test made is closed after it, failing what it left pending, so none keeps the process alive. */
const made: Array<{ close(deadline: number): Promise<void> }> = [];
afterEach(() => Promise.all(made.splice(0).map((scheduler) => scheduler.close(0))));

function setUp(
  capacity = 1,
  settings: {
    isolate?: boolean;
    callsPerChild?: number;
    startTimeout?: number;
    maxQueue?: number;
    lingerMs?: number;
    recordTiming?: boolean;
  } = {},
) {
  let transport: FakeTransport | undefined;
  const scheduler = new Scheduler(
    {
      isolate: settings.isolate ?? false,
      callsPerChild: settings.callsPerChild ?? 1,
      child: undefined,
      startTimeout: settings.startTimeout ?? 60_000,
      maxQueue: settings.maxQueue,
      recordTiming: settings.recordTiming ?? false,
      lingerMs: settings.lingerMs,
    },
    (events) => (transport = new FakeTransport(events, capacity)),
  );
  assert.ok(transport);
  made.push(scheduler);
  const call = (label: string, options: { timeout?: number; signal?: AbortSignal; retries?: number } = {}) =>
    scheduler.run(['call', '{}', 0, [label], undefined, false], label, options);
  const items: unknown[] = [];
  const stream = (label: string) =>
    scheduler.stream(
      ['call', '{}', 0, [label], undefined, false],
      label,
      {},
      { window: 4, idleTimeout: undefined },
      (item) => items.push(item[1]),
    );
  return { scheduler, transport, call, stream, items };
}

const value = (text: string): Value => ['as-is', text, false];
const crash = {
  kind: 'crashed',
  error: (label: string) => new ProcessCrashedError(`crashed in ${label}`, null, 'SIGSEGV', label, '', false),
} as const;

/** Lets promise callbacks and the scheduler's setImmediate run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('recordTiming', () => {
  test("a worker's own times count only for a started call, and only within what this process saw", async () => {
    const { scheduler, transport, call } = setUp(1, { recordTiming: true });
    const result = call('a');
    const { id, calls } = transport.batch(0);
    const monotonic = () => Number(process.hrtime.bigint()) / 1e6;
    // Not started yet: a time for it is no time.
    transport.events.ran(id, calls[0]!, 0, 1e300);
    transport.events.started(id, calls[0]!);
    await sleep(20);
    // What a child whose code set its clock anywhere might say: far ahead, backwards, huge.
    transport.events.ran(id, calls[0]!, 1e300, 1e303);
    transport.events.ran(id, calls[0]!, monotonic(), monotonic() - 1e9);
    transport.events.ran(id, calls[0]!, -1e300, 1e300);
    transport.events.answered(id, calls[0]!, value('a'));
    assert.deepEqual(await result, value('a'), 'the call settled');
    const { runTime, waitTime } = scheduler.stats();
    assert.ok(runTime && waitTime);
    assert.equal(runTime.count, 1);
    assert.ok(runTime.max + waitTime.max < 1_000, JSON.stringify({ runTime, waitTime }));

    // An honest one, in a batch of its own: 5 ms, ending now, on the machine's clock.
    transport.events.ended(id, false);
    const next = call('b');
    const batch = transport.batch(1);
    transport.events.started(batch.id, batch.calls[0]!);
    await sleep(10);
    transport.events.ran(batch.id, batch.calls[0]!, monotonic() - 5, monotonic());
    transport.events.answered(batch.id, batch.calls[0]!, value('b'));
    await next;
    const after = scheduler.stats().runTime!;
    assert.equal(after.count, 2);
    assert.ok(after.min >= 4.5 && after.min < 6, JSON.stringify(after));
  });
});

describe('exactly once', () => {
  test('a second answer, or a loss after the answer, changes nothing', async () => {
    const { transport, call } = setUp();
    const result = call('a');
    const { id, calls } = transport.batch(0);
    transport.events.answered(id, calls[0]!, value('first'));
    transport.events.answered(id, calls[0]!, value('second'));
    transport.events.lost(id, crash);
    assert.deepEqual(await result, value('first'));
    assert.equal(transport.submitted.length, 1, 'nothing was sent again');
  });

  test('an answer is taken only for a call that the batch it names holds', async () => {
    const { transport, call } = setUp(2);
    const first = call('first');
    const second = call('second');
    const a = transport.batch(0);
    const b = transport.batch(1);
    // A worker speaking for batch a cannot settle the call of batch b.
    transport.events.answered(a.id, b.calls[0]!, value('forged'));
    transport.events.answered(a.id, a.calls[0]!, value('a'));
    transport.events.answered(b.id, b.calls[0]!, value('b'));
    assert.deepEqual(await Promise.all([first, second]), [value('a'), value('b')]);
  });
});

describe('batches', () => {
  test('calls that wait go to an idle open batch; those it never started go again when it ends', async () => {
    const { transport, call } = setUp(1);
    const results = [call('a'), call('b'), call('c')];
    assert.equal(transport.submitted.length, 1, 'one slot: the others wait');
    const first = transport.batch(0);
    assert.deepEqual(first.calls.length, 1);
    transport.events.answered(first.id, first.calls[0]!, value('a'));
    assert.equal(transport.appended.length, 1, 'the waiting calls went straight to the idle batch');
    const appended = transport.appended[0]!.calls.map((task) => task[2]);
    assert.equal(appended.length, 2);
    // Its worker closed the batch before it got them (its call limit, say): they go in a new batch.
    transport.events.ended(first.id, false);
    const again = transport.batch(1);
    assert.deepEqual(again.calls, appended, 'the same calls, in the same order');
    for (const [index, id] of again.calls.entries()) transport.events.answered(again.id, id, value(`#${index}`));
    assert.deepEqual(await Promise.all(results), [value('a'), value('#0'), value('#1')]);
  });

  test('an idle batch is closed once the event loop turns with no new call', async () => {
    const { transport, call } = setUp(1);
    const result = call('a');
    const { id, calls } = transport.batch(0);
    transport.events.answered(id, calls[0]!, value('a'));
    await result;
    await turn();
    assert.deepEqual(transport.closed, [id]);
  });

  test('with lingerMs, an idle batch closes only once it was idle that long on end', async () => {
    // A remote worker's jobs come a Redis round trip apart: its batch is idle most of the time.
    const { transport, call } = setUp(1, { lingerMs: 40 });
    const first = call('a');
    const { id, calls } = transport.batch(0);
    transport.events.answered(id, calls[0]!, value('a'));
    await first;
    // A call every 15 ms for 150 ms: the batch is idle whenever a timer of 40 ms would fire.
    for (let index = 0; index < 10; index++) {
      await sleep(15);
      const next = call(`n${index}`);
      const appended = transport.appended.at(-1)!;
      assert.equal(appended.batch, id, `call ${index} joined the open batch`);
      transport.events.answered(id, appended.calls[0]![2], value('n'));
      await next;
    }
    assert.deepEqual(transport.closed, [], 'not closed while calls kept coming');
    assert.equal(transport.submitted.length, 1);
    const idleAt = performance.now();
    while (transport.closed.length === 0) await sleep(5);
    assert.deepEqual(transport.closed, [id]);
    assert.ok(performance.now() - idleAt >= 39, 'closed once idle for lingerMs');
  });

  test('a refused append sends the calls in a new batch instead', async () => {
    const { transport, call } = setUp(2);
    const first = call('a');
    const { id, calls } = transport.batch(0);
    transport.events.answered(id, calls[0]!, value('a'));
    await first;
    transport.acceptAppends = false;
    const second = call('b');
    assert.equal(transport.submitted.length, 2, 'a new batch');
    assert.deepEqual(transport.closed, [id], 'the batch that refused is closed');
    const next = transport.batch(1);
    transport.events.answered(next.id, next.calls[0]!, value('b'));
    assert.deepEqual(await second, value('b'));
  });
});

describe('losses', () => {
  test('a crash is blamed on the call that was running; the calls behind it go again', async () => {
    const { transport, call } = setUp(1);
    const running = call('running');
    const behind = [call('b'), call('c')];
    const first = transport.batch(0);
    transport.events.answered(first.id, first.calls[0]!, value('done'));
    await running;
    // The batch now holds the two calls that waited; a new one waits behind them.
    const holding = call('d');
    const sent = transport.appended.flatMap((entry) => entry.calls.map((task) => task[2]));
    transport.events.lost(first.id, crash);
    const blamed = await rejectionOf(behind[0]!, ProcessCrashedError);
    assert.match(blamed.message, /crashed in b/);
    const resent = transport.batch(1);
    assert.equal(sent.length, 2);
    assert.deepEqual(resent.calls.slice(0, 1), sent.slice(1), 'the call never started goes again first');
    assert.equal(resent.calls.length, 2, 'with the one that waited');
    for (const id of resent.calls) transport.events.answered(resent.id, id, value('ok'));
    assert.deepEqual(await Promise.all([behind[1], holding]), [value('ok'), value('ok')]);
  });

  test('a batch lost with allStarted (a worker running calls side by side) blames every unanswered call', async () => {
    const { transport, call } = setUp(1);
    const first = call('first');
    const waiting = [call('b'), call('c'), call('d', { retries: 1 })];
    transport.events.answered(transport.batch(0).id, transport.batch(0).calls[0]!, value('done'));
    await first;
    transport.acceptAppends = false;
    transport.events.ended(transport.batch(0).id, false);
    const together = transport.batch(1);
    assert.equal(together.calls.length, 3, 'the calls that waited went in one batch');
    transport.events.lost(together.id, { ...crash, allStarted: true });
    for (const blamed of waiting.slice(0, 2))
      assert.match((await rejectionOf(blamed, ProcessCrashedError)).message, /crashed in/);
    const again = transport.batch(2);
    assert.equal(again.calls.length, 1, 'the call with a retry left, and only it, went again');
    transport.events.answered(again.id, again.calls[0]!, value('retried'));
    assert.deepEqual(await waiting[2], value('retried'));
  });

  test('retries: a crashed call goes again until its retries run out, then fails', async () => {
    const { transport, call } = setUp(1);
    const result = call('flaky', { retries: 2 });
    for (let attempt = 0; attempt < 3; attempt++) transport.events.lost(transport.batch(attempt).id, crash);
    assert.match((await rejectionOf(result, ProcessCrashedError)).message, /crashed in flaky/);
    assert.equal(transport.submitted.length, 3, 'the first attempt and two retries');
  });

  test('a worker that retired started none of its unanswered calls: all go again, none fails', async () => {
    const { transport, call } = setUp(1);
    const result = call('a');
    const first = transport.batch(0);
    transport.events.lost(first.id, { kind: 'retired' });
    const again = transport.batch(1);
    assert.deepEqual(again.calls, first.calls);
    transport.events.answered(again.id, again.calls[0]!, value('a'));
    assert.deepEqual(await result, value('a'));
  });

  test('a destroyed transport fails its calls with PoolClosedError', async () => {
    const { transport, call } = setUp(1);
    const result = call('a');
    transport.events.lost(transport.batch(0).id, { kind: 'closed' });
    await rejectionOf(result, PoolClosedError);
  });

  test('a transport that cannot start workers fails every pending call with its error', async () => {
    const { transport, call } = setUp(1);
    const results = [call('a'), call('b')];
    const error = new Error('cannot boot');
    transport.events.broken(error);
    for (const result of results) assert.equal(await rejectionOf(result), error);
    assert.ok(transport.destroyed);
  });
});

describe('timeouts and aborts', () => {
  test('a timeout counts from the start, and the worker running the call is stopped', async () => {
    const { transport, call } = setUp(1);
    const result = call('slow', { timeout: 20 });
    const { id, calls } = transport.batch(0);
    assert.equal(transport.submitted[0]!.task[2][0]![5], true, 'the call asks to be told when it starts');
    transport.events.started(id, calls[0]!);
    const error = await rejectionOf(result, TimeoutError);
    assert.equal(error.timeout, 20);
    assert.deepEqual(transport.cancelled, [id]);
  });

  test('a timed call that waits behind another does not time out', async () => {
    const { transport, call } = setUp(1);
    const first = call('first');
    const waiting = call('waiting', { timeout: 10 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const { id, calls } = transport.batch(0);
    transport.events.answered(id, calls[0]!, value('first'));
    await first;
    const [appended] = transport.appended;
    transport.events.started(id, appended!.calls[0]![2]);
    transport.events.answered(id, appended!.calls[0]![2], value('done'));
    assert.deepEqual(await waiting, value('done'));
    assert.deepEqual(transport.cancelled, []);
  });

  test('a timed call that its worker does not start within startTimeout fails, and the worker is stopped', async () => {
    const { transport, call } = setUp(1, { startTimeout: 20 });
    const result = call('stuck', { timeout: 60_000 });
    const error = await rejectionOf(result, TimeoutError);
    assert.match(error.message, /was not started by its child process within 20 ms/);
    // Stopped for not starting it; never lost here, so the call was not sent on, and failed.
    assert.deepEqual([...new Set(transport.cancelled)], [transport.batch(0).id]);
  });

  test('a timed call that its worker does not start within startTimeout goes to another worker: the stuck one is stopped', async () => {
    const { transport, call } = setUp(1, { startTimeout: 20 });
    const result = call('innocent', { timeout: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 40));
    const stuck = transport.batch(0);
    assert.deepEqual(transport.cancelled, [stuck.id], 'the worker that never started it is stopped');
    // The stopped worker's batch is lost, its call never started there (as its worker would have told).
    transport.events.lost(stuck.id, { ...crash, startsTold: true });
    const again = transport.batch(1);
    transport.events.started(again.id, again.calls[0]!);
    transport.events.answered(again.id, again.calls[0]!, value('ran elsewhere'));
    assert.deepEqual(await result, value('ran elsewhere'));
  });

  test('a timed call that no worker starts is sent to three at most, then fails saying so', async () => {
    const { transport, call } = setUp(1, { startTimeout: 10 });
    const result = call('unstartable', { timeout: 60_000 });
    const failed = rejectionOf(result, TimeoutError);
    for (let worker = 0; worker < 2; worker++) {
      // Lost as soon as it is stopped, as a killed child's batch is.
      while (transport.cancelled.length <= worker) await new Promise((resolve) => setTimeout(resolve, 1));
      transport.events.lost(transport.batch(worker).id, { ...crash, startsTold: true });
    }
    const error = await failed;
    assert.match(
      error.message,
      /was not started by its child process within 10 ms .*\(it was sent to 3 children, and none started it\)/,
    );
    assert.equal(transport.cancelled.length, 3);
  });

  test('a call that goes alone has no start bound: it may wait in the transport for a worker', async () => {
    const { transport, call } = setUp(1, { startTimeout: 10 });
    const controller = new AbortController();
    const result = call('alone', { timeout: 60_000, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 40));
    const { id, calls } = transport.batch(0);
    assert.deepEqual(transport.cancelled, [], 'not stopped while it waited');
    transport.events.answered(id, calls[0]!, value('done'));
    assert.deepEqual(await result, value('done'));
  });

  test('a timed call next in line after an answer gets the same bound', async () => {
    const { transport, call } = setUp(1, { startTimeout: 20 });
    const first = call('first');
    const stuck = call('stuck', { timeout: 60_000 });
    const { id, calls } = transport.batch(0);
    transport.events.answered(id, calls[0]!, value('first'));
    await first;
    await rejectionOf(stuck, TimeoutError);
    assert.deepEqual([...new Set(transport.cancelled)], [id]);
  });

  test('a signal aborted before the call is made: nothing is sent', async () => {
    const { transport, call } = setUp(1);
    const controller = new AbortController();
    controller.abort(new Error('no'));
    const error = await rejectionOf(call('a', { signal: controller.signal }), AbortError);
    assert.equal((error.cause as Error).message, 'no');
    assert.equal(transport.submitted.length, 0);
  });

  test('an abort before the call starts drops its batch, which went alone', async () => {
    const { transport, call } = setUp(1);
    const controller = new AbortController();
    const result = call('a', { signal: controller.signal });
    assert.equal(transport.submitted[0]!.exclusive, true, 'a call with a signal goes alone');
    controller.abort();
    await rejectionOf(result, AbortError);
    assert.deepEqual(transport.cancelled, [transport.batch(0).id]);
    transport.events.lost(transport.batch(0).id, { kind: 'failed', error: new Error('aborted') });
  });

  test('an abort while the call runs stops its worker', async () => {
    const { transport, call } = setUp(1);
    const controller = new AbortController();
    const result = call('a', { signal: controller.signal, timeout: 60_000 });
    const { id, calls } = transport.batch(0);
    transport.events.started(id, calls[0]!);
    controller.abort();
    await rejectionOf(result, AbortError);
    assert.deepEqual(transport.cancelled, [id]);
  });

  test('with several calls per worker, a call with a timeout goes alone', () => {
    const { transport, call } = setUp(2, { callsPerChild: 2 });
    void call('a', { timeout: 1_000 }).catch(() => {});
    void call('b').catch(() => {});
    assert.deepEqual(
      transport.submitted.map((entry) => entry.exclusive),
      [true, false],
    );
  });
});

test('maxQueue counts the calls that wait, in the backlog and in the transport; a call beyond it is refused', async () => {
  const { transport, call } = setUp(1, { maxQueue: 1 });
  const running = call('running');
  const waiting = call('waiting');
  assert.equal(transport.submitted.length, 1);
  await rejectionOf(call('one too many'), QueueFullError);
  const { id, calls } = transport.batch(0);
  transport.events.answered(id, calls[0]!, value('running'));
  assert.deepEqual(await running, value('running'));
  const [appended] = transport.appended;
  transport.events.answered(id, appended!.calls[0]![2], value('waiting'));
  assert.deepEqual(await waiting, value('waiting'));
});

test('maxQueue 0 refuses only a call that would wait: one that goes alone, or joins an idle batch, is taken', async () => {
  const { transport, call } = setUp(2, { maxQueue: 0 });
  const controller = new AbortController();
  // A call with a signal goes alone: with a slot free it does not wait.
  const alone = call('alone', { signal: controller.signal });
  const first = call('first');
  assert.equal(transport.submitted.length, 2);
  // Both slots run a call: the next would wait.
  await rejectionOf(call('one too many'), QueueFullError);
  await rejectionOf(call('alone, one too many', { signal: controller.signal }), QueueFullError);
  const a = transport.batch(0);
  const b = transport.batch(1);
  transport.events.answered(b.id, b.calls[0]!, value('first'));
  assert.deepEqual(await first, value('first'));
  // Its batch is idle and open: a call joins it, and waits for nothing.
  const joined = call('joins');
  assert.equal(transport.appended.at(-1)?.batch, b.id);
  transport.events.answered(b.id, transport.appended.at(-1)!.calls[0]![2], value('joins'));
  assert.deepEqual(await joined, value('joins'));
  transport.events.answered(a.id, a.calls[0]!, value('alone'));
  assert.deepEqual(await alone, value('alone'));
});

test('maxQueue 0: a batch whose calls are all answered holds no slot, though its end is not heard yet', async () => {
  const { transport, call } = setUp(2, { maxQueue: 0 });
  const controller = new AbortController();
  const first = [call('a', { signal: controller.signal }), call('b', { signal: controller.signal })];
  for (const index of [0, 1]) {
    const batch = transport.batch(index);
    transport.events.answered(batch.id, batch.calls[0]!, value('done'));
  }
  await Promise.all(first);
  // Both workers answered; their batches' ends are still on the way. The next two are not refused:
  // they wait for those ends (in tinypool's queue they would take the workers from calls made before).
  const next = [call('c', { signal: controller.signal }), call('d', { signal: controller.signal })];
  assert.equal(transport.submitted.length, 2);
  for (const index of [0, 1]) transport.events.ended(transport.batch(index).id, false);
  assert.equal(transport.submitted.length, 4);
  for (const index of [2, 3]) {
    const batch = transport.batch(index);
    transport.events.answered(batch.id, batch.calls[0]!, value('done'));
  }
  assert.deepEqual(await Promise.all(next), [value('done'), value('done')]);
});

test('close() waits for the calls in flight, rejects those left at the deadline, then destroys the transport', async () => {
  const { scheduler, transport, call } = setUp(1);
  const answered = call('a');
  const stuck = call('b');
  const first = transport.batch(0);
  const closing = scheduler.close(30);
  transport.events.answered(first.id, first.calls[0]!, value('a'));
  assert.deepEqual(await answered, value('a'));
  await rejectionOf(stuck, PoolClosedError);
  await closing;
  assert.ok(transport.destroyed);
  assert.equal(scheduler.pendingCount, 0);
});

describe('streams', () => {
  test('a stream goes alone, holds its slot for its whole life, and its items come before its answer', async () => {
    const { transport, call, stream, items } = setUp(1);
    const rows = stream('rows');
    assert.equal(transport.submitted[0]!.exclusive, true, 'alone: never in a batch with other calls');
    assert.equal(transport.submitted[0]!.task[2][0]![7], 4, 'the first credit travels with the call');
    const other = call('other');
    assert.equal(transport.submitted.length, 1, 'the stream holds the only slot: the call waits');
    const { id, calls } = transport.batch(0);
    transport.events.emitted(id, calls[0]!, ['items', [value('one')]]);
    transport.events.emitted(id, calls[0]!, ['items', [value('two')]]);
    transport.events.answered(id, calls[0]!, value('done'));
    assert.deepEqual(items, ['one', 'two']);
    assert.deepEqual(await rows.answer, value('done'));
    transport.events.ended(id, false);
    assert.equal(transport.submitted.length, 2, 'the slot is free: the call goes');
    const next = transport.batch(1);
    transport.events.answered(next.id, next.calls[0]!, value('other'));
    assert.deepEqual(await other, value('other'));
  });

  test('stop() steers the worker to stop, and the answer it sends settles the stream', async () => {
    const { transport, stream } = setUp(1);
    const rows = stream('rows');
    const { id, calls } = transport.batch(0);
    transport.events.emitted(id, calls[0]!, ['items', [value('one')]]);
    rows.stop();
    assert.deepEqual(transport.steered.at(-1), { batch: id, call: calls[0], steer: ['stop'] });
    assert.deepEqual(transport.cancelled, [], 'the worker is asked, not killed');
    transport.events.answered(id, calls[0]!, value('stopped'));
    assert.deepEqual(await rows.answer, value('stopped'));
    transport.events.ended(id, false);
  });

  test('a worker that does not answer stop() within the grace is stopped, and the stream ends as stopped', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    t.after(timersOfGlobals());
    const { transport, stream } = setUp(1);
    const rows = stream('rows');
    const { id } = transport.batch(0);
    rows.stop();
    t.mock.timers.tick(4_999);
    assert.deepEqual(transport.cancelled, [], 'not before the grace is over');
    t.mock.timers.tick(1);
    assert.deepEqual(transport.cancelled, [id]);
    assert.deepEqual(await rows.answer, ['as-is', undefined, false]);
  });

  test('at shutdown a stream is told to stop; close() ends once its batch does, or after the grace', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    t.after(timersOfGlobals());
    const { scheduler, transport, stream } = setUp(1);
    const rows = stream('rows');
    const { id, calls } = transport.batch(0);
    const closing = scheduler.close(100);
    t.mock.timers.tick(100);
    await rejectionOf(rows.answer, PoolClosedError);
    assert.deepEqual(transport.steered.at(-1), { batch: id, call: calls[0], steer: ['stop'] });
    assert.deepEqual(transport.cancelled, [], 'its finally may still run');
    await turn();
    assert.equal(transport.destroyed, false, 'close() waits for it');
    // A worker that cannot be stopped (the fake ignores cancel, as inline mode does) holds it no longer than the grace.
    t.mock.timers.tick(5_000);
    await closing;
    assert.ok(transport.destroyed);
  });

  test('items for a stream that settled, or named under another batch, are dropped', async () => {
    const { transport, stream, items } = setUp(2);
    const first = stream('first');
    const second = stream('second');
    const a = transport.batch(0);
    const b = transport.batch(1);
    transport.events.emitted(a.id, b.calls[0]!, ['items', [value('forged')]]);
    transport.events.answered(a.id, a.calls[0]!, value('a'));
    transport.events.emitted(a.id, a.calls[0]!, ['items', [value('late')]]);
    transport.events.answered(b.id, b.calls[0]!, value('b'));
    assert.deepEqual(items, []);
    assert.deepEqual(await Promise.all([first.answer, second.answer]), [value('a'), value('b')]);
  });

  test('a transport that cannot stream refuses streams and callbacks at the first call, naming the limit', async () => {
    const { scheduler, transport, stream } = setUp(1);
    transport.streaming = false;
    const refusal = await rejectionOf(stream('Exporter.rows').answer, RunInProcessError);
    assert.match(refusal.message, /Exporter\.rows streams its results .* the fake worker, which cannot relay/);
    const callbacks = scheduler.run(['call', '{}', 0, [], undefined, false], 'crunch', {}, () => {});
    assert.match((await rejectionOf(callbacks, RunInProcessError)).message, /crunch takes callbacks .*local pool/);
    assert.equal(transport.submitted.length, 0, 'nothing was sent');
  });
});
