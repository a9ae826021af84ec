import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import { internal } from '../helpers/internal.js';

// The public entry from the same build as the modules under test (helpers/internal.ts).
const { SerializationError } = await internal<typeof import('../../build/lib/index.js')>('index.js');

// A stream's items in the child (src/child/answers.ts encodedItem, src/codec/plain-copy.ts): taken
// when yielded, sent together later. Small plain data is copied rather than serialized, and the
// copy must be what structured clone would have given; anything else goes to v8's serializer.

type ChildNotice = import('../../build/lib/protocol.js').ChildNotice;
type Value = import('../../build/lib/protocol.js').Value;
const { plainCopy } = await internal<typeof import('../../build/lib/codec/plain-copy.js')>('codec/plain-copy.js');
const { encodedItem } = await internal<typeof import('../../build/lib/child/answers.js')>('child/answers.js');
const { driveStream, steerStream } =
  await internal<typeof import('../../build/lib/child/stream-runner.js')>('child/stream-runner.js');

/** Every object reachable from `value`. */
function objectsOf(value: unknown, found = new Set<object>()): Set<object> {
  if (value === null || typeof value !== 'object' || found.has(value)) return found;
  found.add(value);
  for (const part of Object.values(value)) objectsOf(part, found);
  return found;
}

test('plain data is copied as structured clone would give it back, sharing nothing with the item', () => {
  const shared = { deep: [1, 2, { three: 3 }] };
  const cyclic: Record<string, unknown> = { name: 'cycle' };
  cyclic.self = cyclic;
  const bare = Object.assign(Object.create(null) as object, { bare: true });
  const withGetter = {
    get computed() {
      return 42;
    },
  };
  const values: object[] = [
    { id: 1, name: 'item-1', active: true },
    [1, 'two', null, undefined, -0, Number.NaN, 10n, [[]], {}],
    { left: shared, right: shared, list: [shared] },
    cyclic,
    bare,
    withGetter,
    { 2: 'b', 1: 'a', z: 'z', y: 'y' },
    { unicode: '\ud83d\ude00 \ud800 é' },
  ];
  for (const value of values) {
    const copy = plainCopy(value);
    assert.ok(copy !== undefined, `copied: ${String(JSON.stringify(Object.keys(value)))}`);
    const cloned = deserialize(serialize(value)) as object;
    assert.deepStrictEqual(copy, cloned);
    assert.deepEqual(Object.keys(copy), Object.keys(cloned), 'keys in the same order');
    const originals = objectsOf(value);
    for (const part of objectsOf(copy)) assert.ok(!originals.has(part), 'the copy shares no object with the item');
  }
  const copied = plainCopy({ left: shared, right: shared }) as { left: unknown; right: unknown };
  assert.equal(copied.left, copied.right, 'a part seen twice is copied once');
  const cycle = plainCopy(cyclic) as { self: unknown };
  assert.equal(cycle.self, cycle);
  assert.equal(Object.getPrototypeOf(plainCopy(bare)), Object.prototype, 'as structured clone makes it');
});

test('what structured clone would change, or refuse, is left to the serializer', () => {
  class Row {
    id = 1;
  }
  const holey = [1, 2, 3];
  delete holey[1];
  const extra = Object.assign([1, 2], { extra: true });
  const protoKey = JSON.parse('{"__proto__": {"polluted": true}}') as object;
  const big = Object.fromEntries(Array.from({ length: 1_000 }, (_, index) => [`k${index}`, index]));
  let deep: Record<string, unknown> = {};
  for (let level = 0; level < 40; level++) deep = { deep };
  for (const value of [
    new Row(),
    new Date(0),
    new Map([[1, 2]]),
    { at: new Set([1]) },
    [new Uint8Array(2)],
    { when: new Date(0) },
    holey,
    extra,
    protoKey,
    new Proxy({}, {}),
    { nested: new Proxy([], {}) },
    { handle: () => 'a function' },
    { tag: Symbol('no') },
    new Error('no'),
    Object(1) as object,
    big,
    deep,
  ]) {
    assert.equal(plainCopy(value), undefined, `not copied: ${Object.prototype.toString.call(value)}`);
  }
});

test('encodedItem: primitives as they are, views and plain data copied, the rest serialized now', () => {
  assert.deepEqual(encodedItem(7, 'yield[0]'), ['as-is', 7, false]);
  const buffer = Buffer.from([1, 2]);
  const item = encodedItem(buffer, 'yield[0]');
  buffer[0] = 9;
  assert.deepEqual(item, ['as-is', Buffer.from([1, 2]), true]);
  const bytes = new Uint8Array([1, 2]);
  const copiedBytes = encodedItem(bytes, 'yield[0]');
  bytes[0] = 9;
  assert.deepEqual(copiedBytes, ['as-is', new Uint8Array([1, 2]), false]);
  const row = { n: 1 };
  const copiedRow = encodedItem(row, 'yield[0]');
  row.n = 2;
  assert.deepEqual(copiedRow, ['as-is', { n: 1 }, false]);
  const date = encodedItem(new Date(5), 'yield[0]');
  assert.equal(date[0], 'value');
  assert.deepEqual(deserialize(date[1] as Uint8Array), new Date(5));
  assert.throws(
    () => encodedItem({ handle: () => 1 }, 'yield[3]'),
    (error: unknown) => error instanceof SerializationError && error.path === 'yield[3].handle',
  );
  assert.throws(() => encodedItem(Symbol('no'), 'yield[0]'), SerializationError);
});

test('items yielded in one turn go in one message, in order, and never beyond the credit', async () => {
  const window = 16;
  const messages: Value[][] = [];
  const notify = (notice: ChildNotice) => {
    if (notice[0] === 'run-in-process:emit' && notice[3][0] === 'items') messages.push(notice[3][1]);
  };
  let made = 0;
  async function* endless() {
    for (;;) yield { made: made++ };
  }
  const running = driveStream(() => endless(), 1, 7, window, notify, undefined, { abandoned: () => {} });
  const sent = () => messages.reduce((sum, items) => sum + items.length, 0);
  const turns = async (count: number) => {
    for (let turn = 0; turn < count; turn++) await new Promise((resolve) => setImmediate(resolve));
  };
  let granted = window;
  for (const grant of [0, 5, 16, 1, 40, 3]) {
    steerStream(1, 7, ['credit', grant]);
    granted += grant;
    await turns(20);
    assert.equal(sent(), granted, 'it yields as long as it has credit');
    assert.ok(made <= granted, `made ${made} with ${granted} granted`);
  }
  assert.ok(messages.length < granted / 2, `${messages.length} messages for ${granted} items`);
  assert.ok(
    messages.every((items) => items.length <= window),
    'a message carries at most a window',
  );
  const all = messages.flat().map((item) => (item[1] as { made: number }).made);
  assert.deepEqual(
    all,
    Array.from({ length: granted }, (_, index) => index),
  );
  steerStream(1, 7, ['stop']);
  assert.deepEqual(await running, ['as-is', undefined, false]);
});
