import assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import { after, describe, test } from 'node:test';
import { configure, SerializationError, shutdown, withCallOptions } from 'run-in-process';
import { fixture, modes } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';

type ValuesModule = typeof import('../fixtures/src/values.js');
type AwkwardKind = import('../fixtures/src/values.js').AwkwardKind;

after(() => shutdown());

for (const mode of modes) {
  describe(`values cross both ways keeping their types (${mode})`, () => {
    test('BigInt, undefined, NaN, -0, Date, RegExp, Map, Set, typed arrays, ArrayBuffer, Buffer, cycles', async () => {
      const { Values } = await fixture<ValuesModule>(mode, 'values');
      const circular: { name: string; self?: unknown; list: unknown[] } = { name: 'loop', list: [] };
      circular.self = circular;
      circular.list.push(circular);
      const sent = {
        big: 2n ** 70n,
        missing: undefined,
        nan: NaN,
        negativeZero: -0,
        date: new Date('2026-01-02T03:04:05.006Z'),
        pattern: /a+b/giu,
        map: new Map<unknown, unknown>([
          [1, 'one'],
          ['nested', new Map([[2n, new Set([1])]])],
        ]),
        set: new Set(['a', 'b']),
        floats: new Float64Array([1.5, -2.25]),
        bigints: new BigInt64Array([-1n, 2n]),
        arrayBuffer: new Uint8Array([9, 8, 7]).buffer,
        buffer: Buffer.from('héllo'),
        circular,
      };
      const back = await Values.echo(sent);
      assert.equal(back.big, 2n ** 70n);
      assert.ok('missing' in back && back.missing === undefined, 'an undefined property stays, as undefined');
      assert.ok(Number.isNaN(back.nan));
      assert.ok(Object.is(back.negativeZero, -0));
      assert.deepEqual(back.date, sent.date);
      assert.ok(back.pattern instanceof RegExp && back.pattern.source === 'a+b' && back.pattern.flags === 'giu');
      assert.deepEqual(back.map, sent.map);
      assert.deepEqual(back.set, sent.set);
      assert.ok(back.floats instanceof Float64Array);
      assert.deepEqual([...back.floats], [1.5, -2.25]);
      assert.ok(back.bigints instanceof BigInt64Array);
      assert.ok(back.arrayBuffer instanceof ArrayBuffer);
      assert.deepEqual([...new Uint8Array(back.arrayBuffer)], [9, 8, 7]);
      assert.ok(Buffer.isBuffer(back.buffer), 'a Buffer comes back as a Buffer');
      assert.equal(back.buffer.toString(), 'héllo');
      assert.equal(back.circular.self, back.circular, 'cycles are kept');
      assert.equal(back.circular.list[0], back.circular);
    });

    test('a typed array or DataView arrives with a buffer of its own, holding its bytes only, both ways', async () => {
      const { Values } = await fixture<ValuesModule>(mode, 'values');
      const views = () => [
        new Uint8Array([1, 2, 3]),
        new Float64Array([1.5, -2]),
        new DataView(new Uint8Array([9, 8, 7, 6, 5]).buffer),
        new Int16Array(new Int16Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer, 2, 3),
      ];
      const own = (view: ArrayBufferView) => view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
      const bytes = (view: ArrayBufferView) => [...new Uint8Array(view.buffer, view.byteOffset, view.byteLength)];
      // Node's deserializers made views into the whole message, whose other values (and other calls'
      // arguments, or an 8 KB pool slab) showed through `.buffer`.
      assert.deepEqual(await Values.ownBuffers(...views()), [true, true, true, true], 'as arguments of their own');
      assert.deepEqual(await Values.ownBuffers(views()), [true, true, true, true], 'inside an argument');
      for (const view of views()) {
        const back = await Values.echo(view);
        assert.ok(own(back), `${back.constructor.name} returned`);
        assert.deepEqual(bytes(back), bytes(view));
      }
      // In a thrown error's fields too, which cross with the error codec.
      const thrown = (await rejectionOf(Values.throwsViews(), Error)) as Error & {
        x: Uint8Array;
        cause: { u: Uint16Array };
      };
      assert.ok(own(thrown.x) && own(thrown.cause.u), 'views in a thrown error');
      assert.deepEqual([...thrown.x, ...thrown.cause.u], [9, 1, 2]);
      const nested = await Values.echo({ password: 'hunter2', views: views() });
      for (const [index, view] of nested.views.entries()) {
        assert.ok(own(view), `${view.constructor.name} inside a result`);
        assert.deepEqual(bytes(view), bytes(views()[index]!));
      }
    });

    test('the child receives a Buffer as a Buffer', async () => {
      const { Values } = await fixture<ValuesModule>(mode, 'values');
      assert.equal(await Values.describe(Buffer.from('x')), '[object Uint8Array] Buffer');
      assert.equal(await Values.describe(new Uint8Array(1)), '[object Uint8Array]');
    });

    test('what cannot cross is refused before sending, naming its path', async () => {
      const { Values } = await fixture<ValuesModule>(mode, 'values');
      const echo = Values.echo as (...args: unknown[]) => Promise<unknown>;
      const cases: Array<[unknown[], string, RegExp]> = [
        [[1, { onProgress: () => {} }], 'args[1].onProgress', /a function/],
        [[{ tag: Symbol('x') }], 'args[0].tag', /a symbol/],
        [[{ shared: new SharedArrayBuffer(8) }], 'args[0].shared', /SharedArrayBuffer/],
        [
          [
            {
              get boom() {
                throw new Error('getter says no');
              },
            },
          ],
          'args[0].boom',
          /getter says no/,
        ],
        [[new Map([['key', { fn: Math.max }]])], 'args[0].get("key").fn', /a function/],
        [[[1, 2, Promise.resolve(3)]], 'args[0][2]', /Promise/],
      ];
      for (const [args, path, reason] of cases) {
        const error = await rejectionOf(echo(...args), SerializationError);
        assert.equal(error.path, path);
        assert.match(error.message, reason);
      }
    });

    test('a result that cannot be sent back is a SerializationError, and the child survives', async () => {
      const { Values } = await fixture<ValuesModule>(mode, 'values');
      const before = await Values.pid();
      assert.equal((await rejectionOf(Values.unsendable(), SerializationError)).path, 'result.handle');
      assert.equal(await Values.pid(), before, 'the same child answers the next call');
    });
  });
}

// The edges of structured clone: views on buffers that were detached, resized or shared, and values
// nested deeper than the stack. Each is refused in the parent, before the call reaches the
// scheduler, or sent as structured clone would send it; the same whichever way the call travels.

const refusedArguments: Array<[AwkwardKind, RegExp]> = [
  ['detached typed array', /a Uint8Array on a detached ArrayBuffer/],
  ['detached DataView', /a DataView on a detached ArrayBuffer/],
  ['detached ArrayBuffer', /a detached ArrayBuffer/],
  ['out-of-bounds typed array', /a Uint16Array out of the bounds of its ArrayBuffer/],
  ['out-of-bounds DataView', /a DataView out of the bounds of its ArrayBuffer/],
  ['out-of-bounds length-tracking typed array', /a Uint8Array out of the bounds of its ArrayBuffer/],
  ['typed array on a SharedArrayBuffer', /a SharedArrayBuffer cannot be shared between processes/],
  ['DataView on a SharedArrayBuffer', /a SharedArrayBuffer cannot be shared between processes/],
  ['nested 10,000 levels', /nested too deeply/],
];

type Way = (send: () => Promise<unknown>) => Promise<{ refusal: unknown; mates: unknown[] }>;

/** The three ways a call travels: alone (it has a signal), among waiting calls, or on an idle open batch. */
const ways: Array<[string, Way]> = [
  [
    'alone',
    async (send) => ({
      refusal: await rejectionOf(withCallOptions({ signal: new AbortController().signal }, send)),
      mates: [],
    }),
  ],
  [
    'in a batch',
    async (send) => {
      // The pool has one child: all but the first of these wait, and go to it several at a time.
      const before = Array.from({ length: 12 }, (_, index) => echoInPool(index));
      const refused = send();
      const after = Array.from({ length: 12 }, (_, index) => echoInPool(100 + index));
      const refusal = await rejectionOf(refused);
      return { refusal, mates: await Promise.all([...before, ...after]) };
    },
  ],
  [
    'on an open batch',
    async (send) => {
      const first = await echoInPool('first');
      // The batch that answered stays open until this turn of the event loop ends: the calls go to it.
      const refusal = await rejectionOf(send());
      const next = await echoInPool('next');
      return { refusal, mates: [first, next] };
    },
  ],
];

const expectedMates: Record<string, unknown[]> = {
  alone: [],
  'in a batch': [...Array.from({ length: 12 }, (_, index) => index), ...Array.from({ length: 12 }, (_, i) => 100 + i)],
  'on an open batch': ['first', 'next'],
};

const { echoInPool, awkwardInPool, awkwardValue, nested, pidInPool } = await fixture<ValuesModule>(
  'standard',
  'values',
);

describe('arguments that structured clone refuses', () => {
  configure('values-batches', { size: 1 });

  for (const [way, travel] of ways) {
    test(`are a SerializationError naming the path, sent ${way}, and its batch mates are unaffected`, {
      timeout: 60_000,
    }, async () => {
      for (const [kind, reason] of refusedArguments) {
        for (const [value, path] of [
          [awkwardValue(kind), 'args[0]'],
          // Too deep a part is named where it starts among the arguments: its own path is thousands of levels long.
          [{ nested: { data: awkwardValue(kind) } }, kind.startsWith('nested') ? 'args[0]' : 'args[0].nested.data'],
        ] as const) {
          const { refusal, mates } = await travel(() => echoInPool(value));
          assert.ok(refusal instanceof SerializationError, `${kind}, ${way}: ${String(refusal)}`);
          assert.equal(refusal.path, path, `${kind}, ${way}`);
          assert.match(refusal.message, reason, `${kind}, ${way}`);
          assert.deepEqual(mates, expectedMates[way], `${kind}, ${way}: the other calls get their own results`);
        }
      }
    });
  }

  test('nested deeper than the stack, in `this` or among other arguments: named where, not a raw RangeError', async () => {
    const { Values } = await fixture<ValuesModule>('standard', 'values');
    const echo = Values.echo as (...args: unknown[]) => Promise<unknown>;
    const error = await rejectionOf(echo(1, { ok: true }, nested(10_000)), SerializationError);
    assert.equal(error.path, 'args[2]');
    assert.match(error.message, /nested too deeply to be cloned \(10000 levels\)/);
    const { Holder } = await fixture<ValuesModule>('standard', 'values');
    const holder = new Holder(nested(10_000));
    assert.equal((await rejectionOf(holder.size(), SerializationError)).path, 'this.tree');
  });
});

test('an argument that serializes but is too deep to be read back in the child is a SerializationError; the child lives on', async () => {
  configure('values-batches', { size: 1 });
  const before = await pidInPool();
  const error = await rejectionOf(echoInPool(nested(2_500)), SerializationError);
  assert.equal(error.path, 'args');
  assert.equal(await pidInPool(), before);
});

test('an argument V8 writes but cannot read back (on Node 20, an Error whose cause is itself) is a SerializationError; the child lives on', async () => {
  configure('values-batches', { size: 1 });
  const before = await pidInPool();
  const looped = new Error('its own cause');
  looped.cause = looped;
  let readable = true;
  try {
    deserialize(serialize(looped));
  } catch {
    readable = false; // Node 20; later lines read it back
  }
  if (readable) {
    const back = (await echoInPool(looped)) as Error;
    assert.equal(back.cause, back, 'where V8 reads it back, it crosses whole');
  } else {
    const error = await rejectionOf(echoInPool(looped), SerializationError);
    assert.equal(error.path, 'args');
    assert.match(error.message, /V8 wrote it but cannot read it back .*an Error whose cause is the error itself/);
  }
  assert.equal(await pidInPool(), before);
});

describe('views on a resizable ArrayBuffer', () => {
  for (const [way, travel] of ways) {
    test(`travel as their bytes at the time of the call, even if the buffer then shrinks (${way})`, async () => {
      const buffer = new (ArrayBuffer as new (length: number, options: { maxByteLength: number }) => ArrayBuffer)(8, {
        maxByteLength: 16,
      });
      new Uint8Array(buffer).set([1, 2, 3, 4, 5, 6, 7, 8]);
      const shrink = () => (buffer as ArrayBuffer & { resize(length: number): void }).resize(1);
      const sent = [new Uint8Array(buffer, 2), new DataView(buffer, 2), new Uint16Array(buffer, 4, 2)];
      const received: unknown[] = [];
      await travel(async () => {
        const calls = sent.map((view) => echoInPool(view));
        shrink();
        received.push(...(await Promise.all(calls)));
        throw new Error('done');
      });
      const [tracking, view, fixed] = received as [Uint8Array, DataView, Uint16Array];
      assert.ok(tracking instanceof Uint8Array);
      assert.deepEqual([...tracking], [3, 4, 5, 6, 7, 8]);
      assert.ok(view instanceof DataView);
      assert.deepEqual([...new Uint8Array(view.buffer, view.byteOffset, view.byteLength)], [3, 4, 5, 6, 7, 8]);
      assert.ok(fixed instanceof Uint16Array);
      assert.deepEqual([...new Uint8Array(fixed.buffer, fixed.byteOffset, fixed.byteLength)], [5, 6, 7, 8]);
    });
  }
});

test('views and buffers made in another realm (a vm context) cross as ours do', async () => {
  const { runInNewContext } = await import('node:vm');
  const [bytes, view, floats, buffer] = runInNewContext(
    '[new Uint8Array([1, 2, 3]), new DataView(new Uint8Array([4, 5]).buffer), new Float64Array([0.5]), new Uint8Array([6]).buffer]',
  ) as [Uint8Array, DataView, Float64Array, ArrayBuffer];
  assert.ok(!(bytes.buffer instanceof ArrayBuffer), 'another realm');
  assert.deepEqual([...((await echoInPool(bytes)) as Uint8Array)], [1, 2, 3]);
  const viewBack = (await echoInPool(view)) as DataView;
  assert.deepEqual([...new Uint8Array(viewBack.buffer, viewBack.byteOffset, viewBack.byteLength)], [4, 5]);
  assert.deepEqual([...((await echoInPool(floats)) as Float64Array)], [0.5]);
  assert.deepEqual([...((await echoInPool({ nested: bytes })) as { nested: Uint8Array }).nested], [1, 2, 3]);
  assert.deepEqual([...new Uint8Array((await echoInPool(buffer)) as ArrayBuffer)], [6]);
});

describe('results that structured clone refuses', () => {
  const refusedResults: Array<[AwkwardKind, RegExp]> = [
    ...refusedArguments,
    ['nested 2,500 levels', /nested too deeply to be rebuilt/],
  ];

  test('fail only their own call, with a SerializationError at `result`; the child lives on', {
    timeout: 60_000,
  }, async () => {
    configure('values-batches', { size: 1 });
    for (const [kind, reason] of refusedResults) {
      const before = await pidInPool();
      const error = await rejectionOf(awkwardInPool(kind), SerializationError);
      assert.equal(error.path, 'result', kind);
      assert.match(error.message, reason, kind);
      assert.equal(await pidInPool(), before, `${kind}: the same child answers the next call`);
      // In a batch: the calls around it get their own results.
      const settled = await Promise.allSettled([
        echoInPool('a'),
        echoInPool('b'),
        awkwardInPool(kind),
        echoInPool('c'),
        echoInPool('d'),
      ]);
      assert.deepEqual(
        settled.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).name)),
        ['a', 'b', 'SerializationError', 'c', 'd'],
        kind,
      );
    }
  });
});

test('arguments are taken when the call is made: a buffer the caller reuses, or detaches, right after changes nothing', async () => {
  const { Values } = await fixture<ValuesModule>('standard', 'values');
  // A reader that reuses its chunk: the calls go at the next turn of the event loop, or wait for a child.
  const chunk = Buffer.alloc(4);
  const floats = new Float64Array(4);
  const view = new DataView(new ArrayBuffer(2));
  const calls: Promise<unknown>[] = [];
  for (let round = 0; round < 6; round++) {
    chunk.fill(round);
    floats.fill(round + 0.5);
    view.setUint16(0, round);
    calls.push(Values.echo(chunk), Values.echo(floats.subarray(1, 3)), Values.echo(view));
  }
  const detachable = new Uint8Array([5, 6, 7]);
  calls.push(Values.echo(detachable));
  structuredClone(detachable.buffer, { transfer: [detachable.buffer] });
  // A view whose own accessors lie or throw is read as structured clone reads it.
  const lying = new Uint8Array([1, 2]);
  Object.defineProperty(lying, 'buffer', {
    get: () => {
      throw new Error('not this');
    },
  });
  Object.defineProperty(lying, 'byteLength', { value: 1000 });
  calls.push(Values.echo(lying));
  // Past 512 KiB a view is sent from the caller's memory (not copied), read as structured clone reads it too.
  const large = Buffer.alloc(600 * 1024, 3);
  Object.defineProperty(large, 'buffer', {
    get: () => {
      throw new Error('not this');
    },
  });
  calls.push(Values.echo(large));
  const back = await Promise.all(calls);
  for (let round = 0; round < 6; round++) {
    const [bytes, part, data] = back.slice(round * 3, round * 3 + 3) as [Buffer, Float64Array, DataView];
    assert.ok(Buffer.isBuffer(bytes), 'a Buffer stays a Buffer');
    assert.deepEqual([...bytes], [round, round, round, round], `round ${round}: the chunk as it was`);
    assert.deepEqual([...part], [round + 0.5, round + 0.5], `round ${round}: the subarray as it was`);
    assert.equal(data.getUint16(0), round, `round ${round}: the DataView as it was`);
  }
  assert.deepEqual([...(back[18] as Uint8Array)], [5, 6, 7], 'detached after the call');
  assert.deepEqual([...(back[19] as Uint8Array)], [1, 2], "a view's own accessors are not what is sent");
  const largeBack = back[20] as Buffer;
  assert.ok(Buffer.isBuffer(largeBack) && largeBack.length === large.length && largeBack.every((byte) => byte === 3));
});

test('a 100 MB payload goes through', async () => {
  const { Values } = await fixture<ValuesModule>('standard', 'values');
  const big = Buffer.alloc(100 * 1024 * 1024, 7);
  const back = await Values.echo(big);
  assert.equal(back.length, big.length);
  assert.equal(back[back.length - 1], 7);
});

test('a field of `this` whose getter throws is a SerializationError naming it; nothing is sent', async () => {
  const { Holder } = await fixture<ValuesModule>('standard', 'values');
  const holder = new Holder(nested(2));
  Object.defineProperty(holder, 'secret', {
    enumerable: true,
    get() {
      throw new Error('not readable');
    },
  });
  const error = await rejectionOf(holder.size(), SerializationError);
  assert.equal(error.path, 'this.secret');
  assert.match(error.message, /reading it threw: not readable/);
});
