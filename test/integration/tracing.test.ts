import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { existsSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import {
  AbortError,
  type CallContext,
  type ChildExit,
  type ChildSpawn,
  configure,
  ProcessCrashedError,
  SerializationError,
  shutdown,
  TimeoutError,
  withCallOptions,
} from 'run-in-process';
import { fixture, fixtureUrl, scratchFile, waitFor, waitForFile } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { runScript } from '../helpers/scripts.js';

type PooledModule = typeof import('../fixtures/src/pooled.js');
type StreamsModule = typeof import('../fixtures/src/streams.js');
const { inPool } = await fixture<PooledModule>('standard', 'pooled');

after(() => shutdown());

test('calls are traced in the parent and in the child, the carrier goes along, and children are seen start and end', async () => {
  const log = scratchFile('trace-child');
  configure('tracing', {
    size: 1,
    preload: [fixtureUrl('standard', 'trace-child')],
    env: { ...process.env, TRACE_LOG: log },
  });
  const { pid, fail, exit, spin, hold } = inPool('tracing');
  const seen: Array<{ event: string; context: CallContext }> = [];
  const spawned: ChildSpawn[] = [];
  const exited: ChildExit[] = [];
  const record = (event: string) => (context: unknown) => seen.push({ event, context: context as CallContext });
  const handlers = {
    start(context: unknown) {
      (context as CallContext).carrier.traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      // A careless subscriber: what cannot cross stays in the parent, and the call goes on.
      Object.assign((context as CallContext).carrier, { span: () => {}, depth: 1 });
      record('start')(context);
    },
    end: record('end'),
    asyncStart: record('asyncStart'),
    asyncEnd: record('asyncEnd'),
    error: record('error'),
  };
  const onSpawn = (message: unknown) => spawned.push(message as ChildSpawn);
  const onExit = (message: unknown) => exited.push(message as ChildExit);
  const calls = diagnosticsChannel.tracingChannel('run-in-process:call');
  calls.subscribe(handlers);
  diagnosticsChannel.subscribe('run-in-process:child:spawn', onSpawn);
  diagnosticsChannel.subscribe('run-in-process:child:exit', onExit);
  try {
    const child = await pid();
    const [started, , , ended] = seen;
    assert.deepEqual(
      seen.map(({ event }) => event),
      ['start', 'end', 'asyncStart', 'asyncEnd'],
    );
    assert.equal(started?.context.target, 'tracing:pid');
    assert.equal(started?.context.pool, 'tracing');
    assert.equal(ended?.context.pid, child, 'the child that ran it');
    assert.equal((ended?.context as { result?: unknown } | undefined)?.result, child);
    const inChild = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(inChild, [
      { target: 'tracing:pid', carrier: { traceparent: started?.context.carrier.traceparent }, pid: child },
    ]);

    seen.length = 0;
    await rejectionOf(fail('traced'), RangeError);
    assert.ok(
      seen.some(
        ({ event, context }) => event === 'error' && (context as { error?: unknown }).error instanceof RangeError,
      ),
    );

    await rejectionOf(exit(3), ProcessCrashedError);
    await rejectionOf(
      withCallOptions({ timeout: 100 }, () => spin(5_000)),
      TimeoutError,
    );
    // A call with a signal says when it starts: its context has the pid while it runs, and the child
    // that its abort kills exits for that reason.
    seen.length = 0;
    const holding = scratchFile('traced-hold.started');
    const controller = new AbortController();
    const held = withCallOptions({ signal: controller.signal }, () => hold(holding, scratchFile('traced-hold.never')));
    const holder = Number(await waitForFile(holding));
    await waitFor(() => seen[0]?.context.pid === holder, 5_000);
    assert.equal(seen[0]?.context.pid, holder, 'the pid is known while the call runs');
    controller.abort();
    await rejectionOf(held, AbortError);
    assert.ok(spawned.some((message) => message.pid === child && message.pool === 'tracing'));
    await pid();
    await shutdown();
    assert.deepEqual(
      exited.map((message) => message.reason),
      ['crash', 'timeout', 'abort', 'shutdown'],
    );
    assert.equal(exited[0]?.pid, child);
    assert.equal(exited[0]?.exitCode, 3);
  } finally {
    calls.unsubscribe(handlers);
    diagnosticsChannel.unsubscribe('run-in-process:child:spawn', onSpawn);
    diagnosticsChannel.unsubscribe('run-in-process:child:exit', onExit);
  }
  assert.ok(existsSync(log));
});

test("a subscriber's hostile carrier never changes a call's outcome: what cannot be read stays behind", async () => {
  configure('tracing', { size: 1 });
  const { pid } = inPool('tracing');
  const hostile: Array<(context: CallContext) => void> = [
    (context) =>
      Object.defineProperty(context.carrier, 'traceparent', {
        enumerable: true,
        get() {
          throw new Error('getter threw');
        },
      }),
    (context) => {
      context.carrier = new Proxy(
        {},
        {
          ownKeys() {
            throw new Error('ownKeys threw');
          },
        },
      );
    },
    (context) =>
      Object.defineProperty(context, 'carrier', {
        get() {
          throw new Error('carrier getter threw');
        },
      }),
  ];
  let next = 0;
  const ignore = () => {};
  const handlers = {
    start: (context: unknown) => hostile[next]?.(context as CallContext),
    end: ignore,
    asyncStart: ignore,
    asyncEnd: ignore,
    error: ignore,
  };
  const calls = diagnosticsChannel.tracingChannel('run-in-process:call');
  calls.subscribe(handlers);
  try {
    for (next = 0; next < hostile.length; next++) assert.notEqual(await pid(), process.pid, `carrier ${next}`);
  } finally {
    calls.unsubscribe(handlers);
  }
});

test('a call refused before it is sent (arguments that cannot cross) is traced too: start, then error', async () => {
  configure('tracing', { size: 1, timeout: 4_000 });
  const { hold, stream } = inPool('tracing');
  const { seen, events, stop } = recordCalls();
  try {
    await rejectionOf(hold((() => 'a function') as never, 'never'), SerializationError);
    assert.deepEqual(events(), ['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    const { target, pool, timeout, error } = seen[2]!.context;
    assert.deepEqual({ target, pool, timeout }, { target: 'tracing:hold', pool: 'tracing', timeout: 4_000 });
    assert.ok(error instanceof SerializationError);
    // A stream: at its first next(), where its refusal comes, once.
    seen.length = 0;
    const refused = stream((() => 'a function') as never, 1);
    assert.deepEqual(events(), [], 'nothing before the first next()');
    await rejectionOf(refused.next(), SerializationError);
    assert.deepEqual(await refused.next(), { done: true, value: undefined }, 'then done, as a generator that threw');
    assert.deepEqual(events(), ['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    assert.equal(seen[0]?.context.target, 'tracing:stream');
  } finally {
    stop();
  }
});

interface SeenEvent {
  event: string;
  /** As they were when the event came (the context changes as the call goes on). */
  target: string;
  pid: number | undefined;
  context: CallContext & { error?: unknown; result?: unknown };
}

/** Records each event of `run-in-process:call` with its context, until `stop()`. */
function recordCalls(): { seen: SeenEvent[]; events: () => string[]; stop: () => void } {
  const seen: SeenEvent[] = [];
  const record = (event: string) => (context: unknown) => {
    const { target, pid } = context as CallContext;
    seen.push({ event, target, pid, context: context as CallContext });
  };
  const handlers = {
    start: record('start'),
    end: record('end'),
    asyncStart: record('asyncStart'),
    asyncEnd: record('asyncEnd'),
    error: record('error'),
  };
  const calls = diagnosticsChannel.tracingChannel('run-in-process:call');
  calls.subscribe(handlers);
  return { seen, events: () => seen.map(({ event }) => event), stop: () => calls.unsubscribe(handlers) };
}

test('a stream is traced as one call, from its first next() to its end', async () => {
  type StreamsModule = typeof import('../fixtures/src/streams.js');
  const { lines, Exporter, StreamFailure } = await fixture<StreamsModule>('standard', 'streams');
  const { seen, events, stop } = recordCalls();
  try {
    const stream = lines('a\nb');
    assert.equal(seen.length, 0, 'nothing before the first next()');
    const items: string[] = [];
    for await (const line of stream) items.push(line);
    assert.deepEqual(items, ['a', 'b']);
    assert.deepEqual(events(), ['start', 'end', 'asyncStart', 'asyncEnd']);
    assert.ok(seen.every(({ target }) => target === 'lines'));
    assert.equal(typeof seen.at(-1)?.pid, 'number', 'the child that ran it');
    assert.equal(seen.at(-1)?.context.result, 2, 'the result is what the generator returned');

    // A stream that throws is traced as a call that threw, with the error rebuilt.
    seen.length = 0;
    const failing = new Exporter().failsAfter(1);
    const got = await rejectionOf(
      (async () => {
        for await (const _ of failing);
      })(),
      StreamFailure,
    );
    // Ended before the consumer hears of the end, as a call's trace is.
    assert.deepEqual(events(), ['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    assert.equal(seen.at(-1)?.context.error, got, 'the very error the consumer got');
  } finally {
    stop();
  }
});

test('a subscriber that freezes the context does not keep the call from settling', async () => {
  const calls = diagnosticsChannel.tracingChannel('run-in-process:call');
  const nothing = () => {};
  const handlers = {
    start: (context: unknown) => void Object.freeze(context),
    end: nothing,
    asyncStart: nothing,
    asyncEnd: nothing,
    error: nothing,
  };
  calls.subscribe(handlers);
  try {
    // Node's tracePromise then fails to write the result into the context itself: the call still
    // settles with its own value; it never hangs.
    const outcome = await Promise.race([
      inPool('tracing')
        .pid()
        .then(
          (pid) => `answered by ${typeof pid}`,
          (error: Error) => `${error.name}: ${error.message}`,
        ),
      new Promise((resolve) => setTimeout(resolve, 10_000, 'never settled')),
    ]);
    assert.equal(outcome, 'answered by number');
    // And a call that fails, with its own error.
    await rejectionOf(inPool('tracing').fail('frozen'), RangeError);
  } finally {
    calls.unsubscribe(handlers);
  }
});

test('a subscriber in the child that freezes its context leaves each call its own value, error or items, and the child alive', async () => {
  configure('tracing-frozen', {
    size: 1,
    preload: [fixtureUrl('standard', 'trace-child')],
    env: { ...process.env, TRACE_FREEZE: '1' },
  });
  const { pid, fail, stream } = inPool('tracing-frozen');
  const child = await pid();
  assert.equal(typeof child, 'number');
  await rejectionOf(fail('frozen in the child'), RangeError);
  const items: unknown[] = [];
  for await (const item of stream(scratchFile('frozen-stream'), 3)) items.push(item);
  assert.deepEqual(items, [0, 1, 2]);
  assert.equal(await pid(), child, 'the same child answered: none was taken for broken');
});

test('run-in-process:child:exit says crash for a child whose preload failed, and its siblings; timeout for one stuck booting', () => {
  const run = runScript(
    `const { default: diagnosticsChannel } = await import('node:diagnostics_channel');
     const { configure, shutdown, warmUp } = await import('run-in-process');
     const exits = [];
     diagnosticsChannel.subscribe('run-in-process:child:exit', (message) => exits.push(message.pool + ':' + message.reason));
     configure('broken', { size: 3, minChildren: 3, preload: [${JSON.stringify(fixtureUrl('standard', 'broken-at-import'))}] });
     await warmUp('broken').catch(() => {});
     await new Promise((resolve) => setTimeout(resolve, 300));
     configure('stuck', { size: 1, startTimeout: 500, preload: [${JSON.stringify(fixtureUrl('standard', 'hangs-at-import'))}] });
     await warmUp('stuck').catch(() => {});
     await new Promise((resolve) => setTimeout(resolve, 300));
     await shutdown();
     console.log(JSON.stringify(exits));`,
    { timeout: 20_000 },
  );
  assert.equal(run.status, 0, run.report);
  // The siblings of the child whose preload failed end with the pool it broke: for its crash, not a shutdown.
  assert.deepEqual(
    JSON.parse(run.stdout.trim()),
    ['broken:crash', 'broken:crash', 'broken:crash', 'stuck:timeout'],
    run.report,
  );
});

test("a stream is traced in the child with its generator's error, or what it returned, as a call is", async () => {
  const outcomes = scratchFile('trace-outcomes');
  configure({
    size: 1,
    preload: [fixtureUrl('standard', 'trace-child')],
    env: { ...process.env, TRACE_OUTCOMES: outcomes },
  });
  try {
    const { Exporter, lines } = await fixture<StreamsModule>('standard', 'streams');
    const items: string[] = [];
    const stream = lines('a\nb');
    for (let next = await stream.next(); !next.done; next = await stream.next()) items.push(next.value);
    assert.deepEqual(items, ['a', 'b']);
    await rejectionOf(
      (async () => {
        for await (const _ of new Exporter().failsAfter(1));
      })(),
      Error,
    );
    await waitFor(() => readFileSync(outcomes, 'utf8').split('\n').length > 3, 5_000);
    const seen = readFileSync(outcomes, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(seen, [
      { event: 'asyncEnd', target: 'lines', result: 2 },
      {
        event: 'error',
        target: 'Exporter.failsAfter',
        error: 'StreamFailure: failed after 1 items',
        name: 'StreamFailure',
      },
      { event: 'asyncEnd', target: 'Exporter.failsAfter', error: 'StreamFailure: failed after 1 items' },
    ]);
  } finally {
    configure({});
    await shutdown();
  }
});
