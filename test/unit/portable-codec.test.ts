import assert from 'node:assert/strict';
import { test } from 'node:test';
import { types } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { internal } from '../helpers/internal.js';

// The remote pools' codec (remote/portable.ts) on its own: what msgpack would lose must cross as
// structured clone (what a local pool uses) carries it.

const { packPortable, unpackPortable } =
  await internal<typeof import('../../build/lib/remote/portable.js')>('remote/portable.js');

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

/** An error crossed as structured clone carries it: same class, same own keys with the same descriptors, same values. */
function errorCrossesAsLocally(error: Error, what: string): void {
  const back = roundTrip(error);
  const local = structuredClone(error);
  assert.equal(Object.getPrototypeOf(back), Object.getPrototypeOf(local), `${what}: its class`);
  assert.deepEqual(Reflect.ownKeys(back), Reflect.ownKeys(local), `${what}: its own keys`);
  for (const key of Reflect.ownKeys(local)) {
    const got = Object.getOwnPropertyDescriptor(back, key) ?? {};
    const expected = Object.getOwnPropertyDescriptor(local, key) ?? {};
    // Whether `stack` is a value or an accessor depends on the V8 version (an accessor on Node 22 and
    // later): what it reads, and how it enumerates, is what must match.
    const flags = ({ enumerable, configurable }: PropertyDescriptor) => ({ enumerable, configurable });
    assert.deepStrictEqual(flags(got), flags(expected), `${what}: ${String(key)}`);
    const [gotValue, expectedValue] = [Reflect.get(back, key), Reflect.get(local, key)];
    if (expectedValue instanceof Error) errorCrossesAsLocally(expectedValue, `${what}'s ${String(key)}`);
    else assert.deepStrictEqual(gotValue, expectedValue, `${what}: ${String(key)}`);
  }
}

test('an Error as a value (an argument, a result) crosses as structured clone carries it', () => {
  const lone = '\ud800';
  // biome-ignore lint/suspicious/noSparseArray: a hole in a cause.
  const cause = { zero: -0, list: [1, , 3], boxed: new String('s'), [lone]: lone };
  const named = new Error('named');
  named.name = 'MyError';
  const renamed = new Error('renamed');
  renamed.name = 'TypeError';
  const noCause = new Error('m', { cause: undefined });
  const stackless = new Error('no stack');
  stackless.stack = undefined;
  const cases: Array<[string, Error]> = [
    ['a lone surrogate in its message and stack, marks in its cause', new TypeError(`a${lone}b`, { cause })],
    ['a custom name (structured clone keeps the class only)', named],
    ['a built-in name on an Error', renamed],
    ['a subclass of a built-in one', new (class Mine extends RangeError {})('mine')],
    ['no message', new Error()],
    ['a cause that is undefined', noCause],
    ['no cause at all', new Error('plain')],
    ['an error as its cause', new Error('outer', { cause: new SyntaxError('inner', { cause: -0 }) })],
    ['an AggregateError (not among the classes structured clone keeps)', new AggregateError([1], 'agg')],
    ['a stack that is not a string', stackless],
    ['a message that is not a string', Object.assign(new Error(), { message: 5 })],
  ];
  for (const [what, error] of cases) errorCrossesAsLocally(error, what);
  const shared = new Error('shared');
  const both = roundTrip({ a: shared, b: [shared], c: new Map([[shared, shared]]) });
  assert.equal(both.a, both.b[0], 'one error twice in a value is one error on the other side');
  assert.equal(both.c.get(both.a), both.a);
  const loop = new Error('loop');
  loop.cause = { loop };
  assert.throws(() => packPortable(loop), /cause leads back to itself/);
});

test('an Error that crossed is an error, as structured clone makes one: it crosses again (a worker hands it to its child in v8 bytes)', () => {
  const error = new TypeError('crossed', { cause: new RangeError('inner') });
  const back = roundTrip({ error }).error;
  assert.ok(types.isNativeError(back), 'a native error, not an object with its prototype');
  assert.equal(Object.prototype.toString.call(back), '[object Error]');
  // What a worker does with an argument: the portable codec's value, in v8 bytes for its child.
  const inChild = deserialize(serialize({ error: back })).error as Error;
  assert.ok(inChild instanceof TypeError, `the child gets a TypeError, not ${Object.prototype.toString.call(inChild)}`);
  assert.equal(inChild.message, 'crossed');
  assert.equal(inChild.stack, error.stack);
  assert.ok(inChild.cause instanceof RangeError);
  assert.equal((inChild.cause as Error).message, 'inner');
  assert.deepStrictEqual(structuredClone(back), structuredClone(error));
});
