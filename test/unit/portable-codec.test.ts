import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// The remote pools' codec (remote/portable.ts) on its own: what msgpack would lose must cross as
// structured clone (what a local pool uses) carries it.

const { packPortable, unpackPortable } =
  await internal<typeof import('../../dist/remote/portable.js')>('remote/portable.js');

const roundTrip = <T>(value: T): T => unpackPortable(packPortable(value)) as T;

/** Crosses the portable codec as it crosses structured clone. */
function crossesAsLocally(value: unknown, what: string): void {
  assert.deepStrictEqual(roundTrip(value), structuredClone(value), what);
}

test('strings that are not well-formed UTF-16 cross exactly: values, keys, Map and Set members, RegExp sources, at any depth', () => {
  const lone = '\ud800';
  assert.equal(roundTrip(lone), lone);
  assert.equal(roundTrip('a\udfffb\ud83d'), 'a\udfffb\ud83d');
  const map = roundTrip(
    new Map([
      ['\ud800', 'a'],
      ['\ud801', 'b'],
    ]),
  );
  assert.deepEqual([...map.keys()], ['\ud800', '\ud801']);
  const keys = roundTrip({ '\ud800': 'a', '\udbff': 'b', plain: 'c', 1: 'd' });
  assert.deepEqual(Object.keys(keys), ['1', '\ud800', '\udbff', 'plain']);
  assert.equal(keys['\udbff'], 'b');
  assert.deepEqual([...roundTrip(new Set(['\ud800', '\udc00']))], ['\ud800', '\udc00']);
  // Made from a string: a literal /\ud800/ has the six characters of its escape as its source.
  assert.equal(roundTrip(new RegExp(`${lone}+`, 'gu')).source, '\ud800+');
  const cases: Array<[string, unknown]> = [
    ['deep in arrays, objects, Maps and Sets', { a: [{ b: new Map([[{ '\ud800': 1 }, new Set(['\udfff'])]]) }] }],
    // biome-ignore lint/suspicious/noSparseArray: a hole next to one.
    ['beside -0 and holes', { zero: -0, lone, list: [1, , '\ud800'] }],
    ['a key beside __proto__', JSON.parse('{"__proto__": {"x": 1}, "\\ud800": 2}')],
    ['a key that is JSON already', { '"a"': 1, '': 2, '\ud800': 3 }],
  ];
  for (const [what, value] of cases) crossesAsLocally(value, what);
  const loop: Record<string, unknown> = {};
  loop['\ud800'] = loop;
  const back = roundTrip(loop);
  assert.equal(back['\ud800'], back, 'an object with such a key keeps its identity');
});

test('an array keeps its holes and its named properties, together or apart', () => {
  // biome-ignore lint/suspicious/noSparseArray: holes are what this checks.
  const holed = Object.assign([1, , 3], { x: 1 });
  const back = roundTrip(holed);
  assert.deepEqual(Object.keys(back), ['0', '2', 'x'], 'the hole stays a hole, x stays');
  assert.equal(back.length, 3);
  crossesAsLocally(holed, 'as many named properties as holes');
  crossesAsLocally(Object.assign([1, 2], { x: 'y', '\ud800': -0, '1.5': 'not an index' }), 'named properties only');
  // biome-ignore lint/suspicious/noSparseArray: trailing holes.
  crossesAsLocally(Object.assign([1, , ,], { '-1': 1, '4294967295': 2 }), 'keys that look like indexes, and are not');
  const self = Object.assign([[1], 2], { self: null as unknown, shared: null as unknown });
  self.self = self;
  self.shared = self[0];
  const looped = roundTrip(self);
  assert.equal(looped.self, looped);
  assert.equal(looped.shared, looped[0]);
  assert.equal(looped.length, 2);
  const sparse: unknown[] & { x?: number } = [];
  sparse[100_000] = 1;
  sparse.x = 1;
  assert.throws(() => packPortable(sparse), /too sparse to send through a remote pool/);
});

test('boxed primitives stay boxed, with their value', () => {
  const boxes = [
    new String('s\ud800'),
    new Number(-0),
    new Number(Number.NaN),
    new Boolean(false),
    Object(-(2n ** 70n)),
  ];
  for (const boxed of boxes) crossesAsLocally(boxed, String(boxed));
  assert.ok(Object.is(roundTrip(new Number(-0)).valueOf(), -0));
  const shared = new String('one');
  const back = roundTrip({ a: shared, b: [shared], c: new Map([[shared, new Boolean(true)]]) });
  assert.ok(back.a instanceof String && back.a.valueOf() === 'one');
  assert.equal(back.b[0], back.a, 'one boxed primitive twice is one object on the other side');
  assert.equal(back.c.get(back.a)?.valueOf(), true);
});

test('values with none of these cross as before', () => {
  const value = {
    text: 'héllo wörld €',
    list: [1, 'a', { b: new Date(0) }],
    map: new Map([['k', 1n]]),
    nan: Number.NaN,
  };
  crossesAsLocally(value, 'a plain value');
});
