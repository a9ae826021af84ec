import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// The public entry from the same build as the modules under test (helpers/internal.ts).
const { SerializationError } = await internal<typeof import('../../build/lib/index.js')>('index.js');

// The codec on its own. The fast path (`isSentAsIs`) lets a value go without serialization, so it
// must never let through one that IPC would refuse later, when the call is sent.

const { decodeValue, encodeValue, encodeValues, isSentAsIs } =
  await internal<typeof import('../../build/lib/codec/values.js')>('codec/values.js');

const resizable = (length: number, maxByteLength: number) =>
  new (ArrayBuffer as new (length: number, options: { maxByteLength: number }) => ArrayBuffer)(length, {
    maxByteLength,
  });

function detached<T extends ArrayBufferView>(view: T): T {
  structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] });
  return view;
}

test('the fast path takes primitives and views on a plain, live, fixed-size ArrayBuffer', () => {
  for (const value of [
    1,
    'x',
    1n,
    undefined,
    null,
    true,
    new Uint8Array(4),
    Buffer.from('x'),
    new DataView(new ArrayBuffer(2)),
  ])
    assert.equal(isSentAsIs(value), true, String(value));
});

test('the fast path leaves to serialization every view that IPC could refuse or send wrongly', () => {
  const cases: Array<[string, unknown]> = [
    ['a detached typed array', detached(new Uint8Array([1, 2]))],
    ['a detached DataView', detached(new DataView(new ArrayBuffer(2)))],
    ['a view on a SharedArrayBuffer', new Uint8Array(new SharedArrayBuffer(4))],
    ['a view on a resizable buffer', new Uint8Array(resizable(4, 8))],
    ['a length-tracking DataView', new DataView(resizable(4, 8))],
    ['a view on an empty buffer (as good as detached, to the fast path)', new Uint8Array(0)],
    ['an object', {}],
  ];
  for (const [what, value] of cases) assert.equal(isSentAsIs(value), false, what);
});

test('what the fast path leaves is serialized, or refused with the path of the culprit', () => {
  const buffer = resizable(8, 16);
  const outOfBounds = new DataView(buffer, 4, 4);
  (buffer as ArrayBuffer & { resize(length: number): void }).resize(2);
  const refused: Array<[unknown, string, RegExp]> = [
    [detached(new Float64Array(2)), 'args[0]', /a Float64Array on a detached ArrayBuffer/],
    [{ view: new Uint8Array(new SharedArrayBuffer(4)) }, 'args[0].view', /SharedArrayBuffer cannot be shared/],
    [[outOfBounds], 'args[0][0]', /a DataView out of the bounds/],
  ];
  for (const [value, path, reason] of refused) {
    assert.throws(
      () => encodeValues({ args: [value] }, 'to the child'),
      (error: unknown) => error instanceof SerializationError && error.path === path && reason.test(error.message),
      path,
    );
  }
  const tracking = new Uint8Array(resizable(4, 8), 1);
  tracking.set([7, 8, 9]);
  assert.deepEqual([...(decodeValue(encodeValue(tracking, 'result', 'back')) as Uint8Array)], [7, 8, 9]);
});

test('nesting deeper than the stack is a SerializationError both ways, without a second overflow', () => {
  let deep: Record<string, unknown> = {};
  const top = deep;
  for (let level = 0; level < 10_000; level++) deep = deep['next'] = {};
  assert.throws(
    () => encodeValue(top, 'result', 'back'),
    (error: unknown) => error instanceof SerializationError && error.path === 'result',
  );
  // Objects a little under 2,000 levels deep serialize, but reading them back overflows the stack.
  let bytes: Uint8Array | undefined;
  for (let levels = 1_500; levels <= 3_000 && bytes === undefined; levels += 100) {
    let part: Record<string, unknown> = {};
    const root = part;
    for (let level = 0; level < levels; level++) part = part['next'] = {};
    const candidate = encodeValue(root, 'result', 'back');
    try {
      decodeValue(candidate);
    } catch {
      bytes = candidate;
    }
  }
  assert.ok(bytes, 'some depth serializes but cannot be read back');
  assert.throws(
    () => decodeValue(bytes),
    (error: unknown) => error instanceof SerializationError && error.path === 'result',
  );
});

test('a refusal counts the levels of a cause chain, and quotes V8 without a doubled full stop', () => {
  let chain = new Error('leaf');
  // 20,000: Node 26 clones a chain of 4,000 (Node 20 to 24 do not).
  for (let i = 0; i < 20_000; i++) chain = new Error(`level ${i}`, { cause: chain });
  assert.throws(
    () => encodeValues({ args: [chain] }, 'to the child process for f()'),
    (error: unknown) =>
      error instanceof SerializationError &&
      /nested too deeply to be cloned \((over )?[1-9]\d{3,} levels\)/.test(error.message),
  );
  const opaque = new Proxy(
    {},
    {
      ownKeys() {
        throw new Error('no keys');
      },
    },
  );
  assert.throws(
    () => encodeValues({ args: [opaque] }, 'to the child process for f()'),
    (error: unknown) => error instanceof SerializationError && !error.message.includes('..'),
  );
});

test('a Proxy among the arguments is named as one, at its path, and none of its traps is read', () => {
  let reads = 0;
  const traps = {
    get(target: object, key: string | symbol) {
      reads++;
      return Reflect.get(target, key);
    },
  };
  for (const proxy of [new Proxy({ a: 1 }, traps), new Proxy([1, 2], traps)]) {
    assert.throws(
      () => encodeValues({ args: [1, { list: [2, proxy] }] }, 'to the child process for f()'),
      (error: unknown) =>
        error instanceof SerializationError &&
        error.path === 'args[1].list[1]' &&
        /a Proxy cannot be cloned \(pass the object it wraps/.test(error.message),
    );
  }
  assert.equal(reads, 0);
});

test('a revoked Proxy is named as a Proxy at its path, and process.env as what to copy', () => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  assert.throws(
    () => encodeValues({ args: [[proxy]] }, 'to the child process for f()'),
    (error: unknown) =>
      error instanceof SerializationError &&
      error.path === 'args[0][0]' &&
      /a Proxy cannot be cloned/.test(error.message),
  );
  assert.throws(
    () => encodeValues({ args: [{ env: process.env }] }, 'to the child process for f()'),
    (error: unknown) =>
      error instanceof SerializationError &&
      error.path === 'args[0].env' &&
      /process\.env cannot be cloned \(pass a plain copy of it: \{ \.\.\.process\.env \}\)/.test(error.message),
  );
});
