import assert from 'node:assert/strict';
import { tracingChannel } from 'node:diagnostics_channel';
import { existsSync, readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortError,
  ProcessCrashedError,
  SerializationError,
  shutdown,
  stats,
  TimeoutError,
  withCallOptions,
} from 'run-in-process';
import { fixture, isAlive, modes, scratchFile, waitFor, waitForFile } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';

// Async generator methods and functions stream their items from a child (issue #13, points 1–4),
// in every decorator mode the fixtures are compiled in.

type StreamsModule = typeof import('../fixtures/src/streams.js');

after(() => shutdown());

/** The lines the child wrote to `log`: one per item it made. */
function made(log: string): number {
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0;
}

for (const mode of modes) {
  const { Exporter, StreamFailure, lines } = await fixture<StreamsModule>(mode, 'streams');

  describe(`streams (${mode})`, () => {
    test('an instance method streams its items, then its return value, from one child', async () => {
      const exporter = new Exporter('row');
      const stream = exporter.rows(40);
      // `this` was taken when the method was called: a later change does not reach the child.
      exporter.prefix = 'changed';
      const rows = [];
      let step = await stream.next();
      while (!step.done) {
        rows.push(step.value);
        step = await stream.next();
      }
      assert.deepEqual(
        rows.map((row) => row.text),
        Array.from({ length: 40 }, (_, index) => `row ${index}`),
      );
      assert.notEqual(rows[0]!.pid, process.pid);
      assert.equal(new Set(rows.map((row) => row.pid)).size, 1, 'one child made them all');
      assert.deepEqual(step.value, { total: 40, prefix: 'row' });
      assert.deepEqual(await stream.next(), { done: true, value: undefined }, 'done stays done');
    });

    test('a static method and a wrapped async generator function stream too', async () => {
      const counted: number[] = [];
      for await (const n of Exporter.countdown(3)) counted.push(n);
      assert.deepEqual(counted, [3, 2, 1]);
      const seen: string[] = [];
      const iterator = lines('a\nb\nc');
      for (let step = await iterator.next(); ; step = await iterator.next()) {
        if (step.done) {
          assert.equal(step.value, 3);
          break;
        }
        seen.push(step.value);
      }
      assert.deepEqual(seen, ['a', 'b', 'c']);
    });

    test('nothing runs before the first next(); an argument that cannot cross rejects that next()', async () => {
      const log = scratchFile('lazy.log');
      const stream = new Exporter().counted(log, 3);
      const unsendable = lines(Symbol('no') as unknown as string);
      assert.equal(made(log), 0, 'the call has not started');
      const error = await rejectionOf(unsendable.next(), SerializationError);
      assert.equal(error.path, 'args[0]');
      assert.deepEqual(await unsendable.next(), { done: true, value: undefined });
      assert.deepEqual(await stream.next(), { done: false, value: 0 });
      await stream.return(undefined);
    });

    test('return() before the first next() ends it without running anything', async () => {
      const log = scratchFile('never.log');
      const stream = new Exporter().counted(log, 3);
      assert.deepEqual(await stream.return(undefined), { done: true, value: undefined });
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
      assert.equal(made(log), 0);
    });

    test('backpressure: the child runs at most `window` items ahead of the consumer', async () => {
      const log = scratchFile('window.log');
      const window = 4;
      const stream = new Exporter().counted(log, 30);
      let consumed = 0;
      for await (const index of stream) {
        assert.equal(index, consumed);
        consumed++;
        // A slow consumer: the child runs ahead (credit comes half a window at a time), and no further.
        const ahead = Math.min(consumed + window / 2, 30);
        assert.ok((await waitFor(() => made(log) >= ahead, 10_000)) !== undefined, `the child reached ${ahead}`);
        assert.ok(made(log) <= consumed + window, `made ${made(log)} with ${consumed} consumed`);
      }
      assert.equal(consumed, 30);
    });

    test('window 1 is a local generator pace: an item is made only when it is asked for', async () => {
      const log = scratchFile('paced.log');
      const stream = new Exporter().paced(log, 5);
      for (let asked = 1; asked <= 5; asked++) {
        assert.equal((await stream.next()).value, asked - 1);
        assert.equal(made(log), asked, 'no item was made ahead');
      }
      // A stream holds its child until it ends: this one is left at its last yield.
      await stream.return(undefined);
    });

    test('break runs the child generator `finally`, and the child lives on', async () => {
      const marker = scratchFile('finally');
      const exporter = new Exporter();
      for await (const index of exporter.endless(marker)) if (index === 5) break;
      const finallyPid = Number(readFileSync(marker, 'utf8'));
      assert.ok(isAlive(finallyPid), 'the child was not killed');
      assert.equal((await collect(exporter.rows(1))).length, 1, 'the pool goes on');
    });

    test('return() resolves once the child confirms; a `finally` that throws rejects it, as locally', async () => {
      const marker = scratchFile('finally-throws');
      const stream = new Exporter().endless(marker, true);
      assert.equal((await stream.next()).value, 0);
      const error = await rejectionOf(stream.return(undefined), StreamFailure);
      assert.equal(error.message, 'the finally block failed');
      assert.ok(existsSync(marker));
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
    });

    test('return() given a rejected promise ends the stream and rejects with its reason, as locally', async () => {
      const marker = scratchFile('return-rejected');
      const stream = new Exporter().endless(marker);
      assert.equal((await stream.next()).value, 0);
      const reason = new Error('no value to return');
      assert.equal(await rejectionOf(stream.return(Promise.reject(reason))), reason);
      assert.ok(existsSync(marker), 'its finally ran');
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
      // A local async generator does the same.
      async function* local() {
        yield 0;
        yield 1;
      }
      const here = local();
      await here.next();
      assert.equal(await rejectionOf(here.return(Promise.reject(reason))), reason);
      assert.deepEqual(await here.next(), { done: true, value: undefined });
    });

    test('throw(err), and return() given a rejected promise, reject with what a `finally` threw, if one did, as locally', async () => {
      async function* local() {
        try {
          yield 0;
        } finally {
          // biome-ignore lint/correctness/noUnsafeFinally: a finally block that throws is what this compares
          throw new StreamFailure('the finally block failed', -1);
        }
      }
      for (const leave of [
        (stream: AsyncGenerator<number>) => stream.throw(new Error('thrown in')),
        (stream: AsyncGenerator<number>) => stream.return(Promise.reject(new Error('no value to return'))),
      ]) {
        const here = local();
        await here.next();
        const localError = await rejectionOf(leave(here), StreamFailure);
        const marker = scratchFile('finally-throws-on-throw');
        const stream = new Exporter().endless(marker, true);
        assert.equal((await stream.next()).value, 0);
        const error = await rejectionOf(leave(stream), StreamFailure);
        assert.equal(error.message, localError.message);
        assert.ok(existsSync(marker), 'its finally ran');
        assert.deepEqual(await stream.next(), { done: true, value: undefined });
      }
    });

    test('a request made from inside another (a then getter of the value given to return()) waits for it, and both settle', async () => {
      const stream = new Exporter().endless(scratchFile('reentrant'));
      assert.equal((await stream.next()).value, 0);
      let inner: Promise<IteratorResult<number>> | undefined;
      const value = {
        // biome-ignore lint/suspicious/noThenProperty: a then getter that return()'s await reads is what this checks
        get then() {
          inner ??= stream.next();
          return undefined;
        },
      };
      assert.deepEqual(await stream.return(value as never), { done: true, value });
      assert.deepEqual(await inner, { done: true, value: undefined });
    });

    test('a return() or throw() left unawaited, whose finally throws, is no unhandled rejection', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        for (const leave of ['return', 'throw'] as const) {
          const marker = scratchFile(`unawaited-${leave}`);
          const stream = new Exporter().endless(marker, true);
          await stream.next();
          void (leave === 'return' ? stream.return(undefined) : stream.throw(new Error('left')));
          assert.ok((await waitFor(() => existsSync(marker), 5_000)) !== undefined, 'its finally ran');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.deepEqual(unhandled, []);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });

    test('a generator whose next() gives no object (code in the child patched it) fails as for await would: a TypeError', async () => {
      const exporter = new Exporter();
      const stream = exporter.patchesNext();
      assert.deepEqual(await stream.next(), { done: false, value: 1 });
      const error = await rejectionOf(stream.next(), TypeError);
      assert.equal(error.message, 'Iterator result null is not an object');
      assert.equal((await collect(exporter.rows(2))).length, 2, 'the pool goes on');
    });

    test('Symbol.asyncDispose (await using) stops the child generator, where a local one has it', async (context) => {
      const dispose = (Symbol as { asyncDispose?: symbol }).asyncDispose;
      const local = (async function* () {})() as unknown as Record<symbol, unknown>;
      if (dispose === undefined || typeof local[dispose] !== 'function') {
        context.skip('this Node has no Symbol.asyncDispose on async generators');
        return;
      }
      const marker = scratchFile('disposed');
      const stream = new Exporter().endless(marker);
      assert.equal((await stream.next()).value, 0);
      const disposeOf = (stream as unknown as Record<symbol, (() => Promise<unknown>) | undefined>)[dispose];
      if (typeof disposeOf !== 'function') {
        await stream.return(undefined);
        assert.fail('a stream is async-disposable, as a local async generator is');
      }
      await disposeOf.call(stream);
      assert.ok(existsSync(marker), 'its finally ran');
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
    });

    test('throw(err) stops the child generator and rejects with err', async () => {
      const marker = scratchFile('thrown-in');
      const stream = new Exporter().endless(marker);
      await stream.next();
      const mine = new Error('consumer gave up');
      assert.equal(await rejectionOf(stream.throw(mine)), mine);
      assert.ok(existsSync(marker), 'its finally ran before throw() settled');
    });

    test('an exception in the loop body stops the child generator', async () => {
      const marker = scratchFile('loop-throws');
      await assert.rejects(async () => {
        for await (const index of new Exporter().endless(marker)) if (index === 2) throw new Error('body');
      }, /body/);
      assert.ok(existsSync(marker));
    });

    test("items before an error come first, then the error, rebuilt with both stacks: the child's, then its consumer's", async () => {
      const stream = new Exporter().failsAfter(3);
      const items: number[] = [];
      async function consumeAll() {
        for await (const item of stream) items.push(item);
      }
      const error = await rejectionOf(consumeAll(), StreamFailure);
      assert.deepEqual(items, [0, 1, 2]);
      assert.equal(error.atItem, 3);
      assert.match(error.stack ?? '', /failsAfter[\s\S]*the child process above[^\n]*\n\s+at async consumeAll /);
      // Failing at the first next(), awaited by hand: the same.
      async function firstOnly() {
        await new Exporter().failsAfter(0).next();
      }
      const first = await rejectionOf(firstOnly(), StreamFailure);
      assert.match(first.stack ?? '', /the child process above[^\n]*\n\s+at async firstOnly /);
    });

    test("a crash: the items sent come first, then ProcessCrashedError, with its consumer's frames", async () => {
      const items: number[] = [];
      async function consumeCrashing() {
        for await (const item of new Exporter().crashesAfter(2)) items.push(item);
      }
      const error = await rejectionOf(consumeCrashing(), ProcessCrashedError);
      assert.deepEqual(items, [0, 1]);
      assert.equal(error.exitCode, 9);
      assert.match(error.stack ?? '', /^ProcessCrashedError: [^\n]*\n(.*\n)*\s+at async consumeCrashing /);
    });

    test('an exit in the same turn as the yields: the items yielded come first all the same', async () => {
      const items: number[] = [];
      const error = await rejectionOf(
        (async () => {
          for await (const item of new Exporter().crashesAfter(3, false)) items.push(item);
        })(),
        ProcessCrashedError,
      );
      assert.deepEqual(items, [0, 1, 2]);
      assert.equal(error.exitCode, 9);
    });

    test('each item is taken as it was at its yield, though items go together later', async () => {
      const items: unknown[] = [];
      for await (const item of new Exporter().reused(5)) items.push(item);
      assert.equal(items.length, 25);
      for (let index = 0; index < 5; index++) {
        const [row, buffer, bytes, map, shared] = items.slice(index * 5, index * 5 + 5) as [
          { index: number; tags: string[] },
          Buffer,
          Uint8Array,
          Map<string, number>,
          { left: { index: number }; right: { index: number } },
        ];
        assert.deepEqual(row, { index, tags: ['a', ...Array.from({ length: index + 1 }, (_, at) => String(at))] });
        assert.ok(Buffer.isBuffer(buffer));
        assert.deepEqual([...buffer], [index]);
        assert.ok(!Buffer.isBuffer(bytes) && bytes instanceof Uint8Array);
        assert.deepEqual([...bytes], [index]);
        assert.deepEqual(map, new Map([['index', index]]));
        assert.deepEqual(shared.left, { index });
        assert.equal(shared.left, shared.right, 'a part shared in the item stays shared');
      }
      assert.notEqual(items[0], items[5], 'each item is its own copy');
    });

    test('an item whose getter throws ends the stream with SerializationError at its path, not the raw error', async () => {
      const items: unknown[] = [];
      const error = await rejectionOf(
        (async () => {
          for await (const item of new Exporter().throwingGetter()) items.push(item);
        })(),
        SerializationError,
      );
      assert.deepEqual(items, [0]);
      assert.equal(error.path, 'yield[1].broken');
      assert.match(error.message, /reading it threw: the getter threw/);
    });

    test('an item that cannot be cloned ends the stream with SerializationError at yield[3]; the child lives', async () => {
      const marker = scratchFile('uncloneable');
      const items: unknown[] = [];
      const error = await rejectionOf(
        (async () => {
          for await (const item of new Exporter().uncloneable(marker)) items.push(item);
        })(),
        SerializationError,
      );
      assert.deepEqual(items, [0, 1, 2]);
      assert.equal(error.path, 'yield[3].handle');
      const pid = Number(readFileSync(marker, 'utf8'));
      assert.ok(isAlive(pid), 'the child lives');
    });
  });
}

describe('streams: an item that cannot be sent, and a finally that never ends', () => {
  test('the error comes after the grace a break gets, and the child, left with the generator, retires', async () => {
    const { stuckFinally } = await fixture<StreamsModule>('standard', 'streams');
    const marker = scratchFile('stuck-finally');
    const items: unknown[] = [];
    const started = performance.now();
    const error = await rejectionOf(
      (async () => {
        for await (const item of stuckFinally(marker)) items.push(item);
      })(),
      SerializationError,
    );
    const waited = performance.now() - started;
    assert.deepEqual(items, [0]);
    assert.equal(error.path, 'yield[1].handle');
    assert.ok(waited >= 4_500 && waited < 15_000, `answered after the 5 s grace, not never: ${Math.round(waited)} ms`);
    const pid = Number(readFileSync(marker, 'utf8'));
    assert.notEqual(await waitFor(() => !isAlive(pid), 5_000), undefined, 'the child that holds the generator retires');
  });
});

describe('streams: an item that cannot be read back', () => {
  test('an item written but too deeply nested to read here is a SerializationError at its own yield[n]', async () => {
    const { deepItem } = await fixture<StreamsModule>('standard', 'streams');
    const items: unknown[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const item of deepItem(2_500)) items.push(item);
      })(),
      SerializationError,
    );
    assert.deepEqual(items, ['first']);
    assert.equal(error.path, 'yield[1]');
    assert.match(error.message, /^Cannot read yield\[1\] in this process: it is nested too deeply/);
  });

  test('such a stream, or a call whose value cannot be read here, counts as failed, and its trace ends with that error', async () => {
    const { deepItem, deepReturn, deepValue } = await fixture<StreamsModule>('standard', 'streams');
    // Written by the child, never read back here, on every Node line, however shallow the stack that
    // reads it (Node 26 reads 2,500 levels from a timer's callback; Node 20 writes no more than ~3,100).
    const depth = 3_000;
    const traced: unknown[] = [];
    const ended: string[] = [];
    const channel = tracingChannel<unknown, { target: string; error?: unknown }>('run-in-process:call');
    const subscribers = {
      start: () => {},
      end: () => {},
      asyncStart: () => {},
      asyncEnd: (context: { target: string }) => ended.push(context.target),
      error: (context: { error?: unknown }) => traced.push(context.error),
    };
    channel.subscribe(subscribers);
    try {
      const before = stats();
      let consumed: unknown;
      try {
        for await (const _ of deepItem(depth));
      } catch (error) {
        consumed = error;
      }
      const value = await rejectionOf(deepValue(depth), SerializationError);
      // A consumer that reads the item only after the child has answered (it works between items).
      let late: unknown;
      try {
        for await (const _ of deepItem(depth)) await sleep(200);
      } catch (error) {
        late = error;
      }
      // A consumer that leaves before it meets the bad item met no error, whenever it leaves.
      const beforeLeaving = stats();
      for await (const _ of deepItem(depth)) {
        await sleep(200);
        break;
      }
      const afterLeaving = stats();
      assert.deepEqual(
        [afterLeaving.completed - beforeLeaving.completed, afterLeaving.failed - beforeLeaving.failed],
        [1, 0],
      );
      // A return value that cannot be read here.
      let returned: unknown;
      try {
        for await (const _ of deepReturn(depth));
      } catch (error) {
        returned = error;
      }
      const after = stats();
      assert.ok(consumed instanceof SerializationError);
      assert.ok(late instanceof SerializationError);
      assert.ok(returned instanceof SerializationError);
      assert.deepEqual(
        { completed: after.completed - before.completed, failed: after.failed - before.failed },
        { completed: 1, failed: 4 },
      );
      assert.deepEqual(ended, ['deepItem', 'deepValue', 'deepItem', 'deepItem', 'deepReturn']);
      assert.deepEqual(traced, [consumed, value, late, returned], 'each trace ends with the error its caller got');
    } finally {
      channel.unsubscribe(subscribers);
    }
  });
});

describe('streams: next(value)', () => {
  test('a value given to next() is refused, not dropped: the child runs ahead of the consumer; the stream goes on', async () => {
    const { Exporter } = await fixture<StreamsModule>('standard', 'streams');
    const stream = new Exporter('row').rows(3);
    assert.equal(((await stream.next()).value as { index: number }).index, 0);
    const refused = await rejectionOf((stream.next as (value: unknown) => Promise<unknown>)(5), TypeError);
    assert.equal((refused as TypeError & { code?: string }).code, 'ERR_INVALID_USAGE');
    assert.match(refused.message, /A stream's next\(\) takes no value \(got number\)/);
    assert.equal(((await stream.next(undefined)).value as { index: number }).index, 1);
    await stream.return({ total: 0, prefix: '' });
  });
});

describe('streams: functions that are not `async *` themselves', () => {
  test('one that TypeScript compiled for a target below ES2018 streams as the `async *` it was', async () => {
    const { downleveled } = await fixture<StreamsModule>('standard', 'streams');
    const stream = downleveled(3);
    const items: unknown[] = [];
    let next = await stream.next();
    for (; !next.done; next = await stream.next()) items.push(next.value);
    assert.deepEqual(items, [0, 1, 2]);
    assert.equal(next.value, 'done');
  });

  test("one that returns another's async generator fails with an error that says to declare it `async *`", async () => {
    const { relays } = await fixture<StreamsModule>('standard', 'streams');
    const error = await rejectionOf(relays(2) as unknown as Promise<unknown>, SerializationError);
    assert.equal(error.path, 'result');
    assert.match(error.message, /returned by a function that is not one itself.*declare it `async \*`/);
  });
});

describe('streams: time and cancellation', () => {
  test('timeout bounds the whole stream: the items made come first, then TimeoutError', async () => {
    const { Exporter } = await fixture<StreamsModule>('standard', 'streams');
    const stream = withCallOptions({ timeout: 500 }, () =>
      new Exporter().waits(scratchFile('never'), scratchFile('m')),
    );
    const first = await stream.next();
    const error = await rejectionOf(stream.next(), TimeoutError);
    assert.match(error.message, /timed out after 500 ms/);
    assert.ok((await waitFor(() => !isAlive(first.value as number), 5_000)) !== undefined, 'its child was killed');
  });

  test('a generator that computes between its yields streams each item when it is made', async () => {
    const { Exporter } = await fixture<StreamsModule>('standard', 'streams');
    // 6 items of 150 ms each: 900 ms in all, over the 400 ms idleTimeout, which must not fire.
    const arrivals: number[] = [];
    const yielded: number[] = [];
    for await (const at of new Exporter().computes(6, 150)) {
      arrivals.push(Date.now());
      yielded.push(at);
    }
    assert.equal(arrivals.length, 6);
    // Each came about when it was yielded, not all together at the end.
    for (const [index, at] of arrivals.entries()) {
      assert.ok(at - yielded[index]! < 100, `item ${index} arrived ${at - yielded[index]!} ms after its yield`);
    }
  });

  test('idleTimeout bounds the gap between items while the child may yield', async () => {
    const { Exporter } = await fixture<StreamsModule>('standard', 'streams');
    const stream = new Exporter().stalls();
    const pid = (await stream.next()).value as number;
    const error = await rejectionOf(stream.next(), TimeoutError);
    assert.match(error.message, /yielded nothing for 300 ms/);
    assert.ok((await waitFor(() => !isAlive(pid), 5_000)) !== undefined, 'its child was killed');
  });

  test('an abort through withCallOptions rejects the next next() with AbortError', async () => {
    const { Exporter } = await fixture<StreamsModule>('standard', 'streams');
    const controller = new AbortController();
    const stream = withCallOptions({ signal: controller.signal }, () =>
      new Exporter().waits(scratchFile('never'), scratchFile('m')),
    );
    const pid = (await stream.next()).value as number;
    controller.abort(new Error('enough'));
    const error = await rejectionOf(stream.next(), AbortError);
    assert.equal((error.cause as Error).message, 'enough');
    assert.ok((await waitFor(() => !isAlive(pid), 5_000)) !== undefined, 'its child was killed');
  });

  test('a signal whose own `aborted` and `reason` getters throw aborts a stream as any other: the parent lives', async () => {
    const { Exporter } = await fixture<StreamsModule>('standard', 'streams');
    const controller = new AbortController();
    for (const key of ['aborted', 'reason'])
      Object.defineProperty(controller.signal, key, {
        get() {
          throw new Error('a careless getter');
        },
      });
    const stream = withCallOptions({ signal: controller.signal }, () =>
      new Exporter().waits(scratchFile('never'), scratchFile('m')),
    );
    await stream.next();
    controller.abort(new Error('enough'));
    const error = await rejectionOf(stream.next(), AbortError);
    assert.equal((error.cause as Error).message, 'enough');
  });

  test('after an abort, items that had arrived but were not taken are dropped: the next next() rejects at once', async () => {
    const { Exporter } = await fixture<StreamsModule>('standard', 'streams');
    const controller = new AbortController();
    const stream = withCallOptions({ signal: controller.signal }, () => new Exporter().endless(scratchFile('e')));
    await stream.next();
    await sleep(200); // A full window has arrived by now, not taken.
    controller.abort();
    await rejectionOf(stream.next(), AbortError);
    assert.deepEqual(await stream.next(), { done: true, value: undefined });

    const looped = new AbortController();
    const taken: number[] = [];
    const loop = withCallOptions({ signal: looped.signal }, async () => {
      for await (const item of new Exporter().endless(scratchFile('e'))) {
        taken.push(item);
        if (item === 5) looped.abort();
      }
    });
    await rejectionOf(loop, AbortError);
    assert.deepEqual(taken, [0, 1, 2, 3, 4, 5]);

    // Ended by the pool before the abort (its timeout): the abort stops nothing, and the end stays.
    const late = new AbortController();
    const timed = withCallOptions({ signal: late.signal, timeout: 300 }, () =>
      new Exporter().endless(scratchFile('e')),
    );
    await timed.next();
    await sleep(600);
    late.abort();
    const after = await timed.next();
    assert.equal(after.done, false, 'an item that had arrived before the timeout');
    for (;;) {
      const outcome = await timed.next().then(
        (result) => result,
        (error: Error) => error,
      );
      if (outcome instanceof Error) {
        assert.ok(outcome instanceof TimeoutError, String(outcome));
        break;
      }
    }
  });

  test('a child that never reaches a yield after return() is killed after the grace; return() resolves', async () => {
    const { Exporter } = await fixture<StreamsModule>('standard', 'streams');
    const marker = scratchFile('stuck');
    const stream = new Exporter().stuck(marker);
    const pid = (await stream.next()).value as number;
    await waitForFile(marker);
    assert.deepEqual(await stream.return(undefined), { done: true, value: undefined });
    assert.ok((await waitFor(() => !isAlive(pid), 5_000)) !== undefined, 'the stuck child was killed');
  });
});

async function collect<T>(stream: AsyncGenerator<T, unknown>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}
