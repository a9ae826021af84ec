import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import { internal } from '../helpers/internal.js';

// Thrown values to bytes and back, without a child: what the child sends cannot break the child's
// answer, and what the parent receives is not trusted with the parent's prototypes.

type EncodedThrown = import('../../build/lib/protocol.js').EncodedThrown;
const { encodeThrown } =
  await internal<typeof import('../../build/lib/codec/thrown-encode.js')>('codec/thrown-encode.js');
const { decodeThrown } =
  await internal<typeof import('../../build/lib/codec/thrown-decode.js')>('codec/thrown-decode.js');
const { resolveErrorClass } =
  await internal<typeof import('../../build/lib/shared/error-classes.js')>('shared/error-classes.js');
const { SerializationError, TimeoutError } = await internal<typeof import('../../build/lib/errors.js')>('errors.js');

const decode = (encoded: EncodedThrown) => decodeThrown(encoded, (node) => resolveErrorClass(node));

/** Prototypes that a hostile report could try to reach, with their own keys before the test. */
const guarded = [Object.prototype, Error.prototype, Array.prototype, Function.prototype];
const keysBefore = guarded.map((prototype) => Reflect.ownKeys(prototype));

function assertPrototypesUntouched(): void {
  try {
    guarded.forEach((prototype, index) => {
      assert.deepEqual(Reflect.ownKeys(prototype), keysBefore[index], 'a prototype gained a property');
    });
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  } finally {
    for (const prototype of guarded) delete (prototype as { polluted?: unknown }).polluted;
  }
}

/** Decodes a report that may be malformed: it may throw, but must not pollute. */
function decodeHostile(encoded: unknown): unknown {
  try {
    return decode(encoded as EncodedThrown);
  } catch (error) {
    return error;
  }
}

test('decoding never walks __proto__, constructor or prototype: the parent’s prototypes stay untouched', () => {
  const fields = serialize({ polluted: 'yes' });
  // Error nodes whose path climbs the prototype chain, in the earlier layout of the report.
  for (const path of [
    ['__proto__'],
    ['__proto__', '__proto__'],
    ['constructor', 'prototype'],
    ['cause', '__proto__'],
  ]) {
    decodeHostile(['error', { name: 'Error', message: 'x', cause: {} }, [{ path, className: 'Error', fields }]]);
    assertPrototypesUntouched();
  }

  // A well-formed report, edited to carry hostile keys in the error's properties and in nested values.
  const encoded = encodeThrown(Object.assign(new Error('hostile'), { list: [new TypeError('inner')] }));
  assert.equal(encoded[0], 'error');
  const payload = deserialize(encoded[1] as Uint8Array) as {
    errors: Array<{ props: Array<[string, unknown, boolean]> }>;
  };
  const [first] = payload.errors;
  assert.ok(first);
  const nested = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}');
  first.props.push(
    ['__proto__', { polluted: 1 }, true],
    ['constructor', { prototype: { polluted: 1 } }, false],
    ['prototype', { polluted: 1 }, true],
    ['nested', nested, true],
    ['listed', [nested, { deeper: nested }], true],
  );
  const hostileNodes = encoded[2].map((node) => ({ ...node, className: '__proto__', exportName: 'constructor' }));
  const decoded = decodeHostile(['error', serialize(payload), hostileNodes]) as Error & Record<string, unknown>;
  assertPrototypesUntouched();
  assert.equal(Object.getPrototypeOf(decoded), Error.prototype);
  assert.equal(decoded.message, 'hostile');
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    assert.ok(!Object.hasOwn(decoded, key), `no own ${key} on the error`);
  }
  assert.equal(Object.getPrototypeOf(decoded['nested']), Object.prototype, 'a nested value keeps its prototype');
  assert.ok((decoded['list'] as unknown[])[0] instanceof TypeError);
});

test('a malformed report is refused with an error, not half read', () => {
  for (const hostile of [
    ['error', serialize({ root: 1, errors: [] }), [{ path: [], className: 'Error' }]],
    ['error', new Uint8Array([1, 2, 3]), []],
    ['error', serialize(null), []],
    ['error', { not: 'bytes' }, []],
  ]) {
    const decoded = decodeHostile(hostile);
    assert.ok(decoded instanceof Error, String(decoded));
    assertPrototypesUntouched();
  }
});

test('encoding a thrown value never throws, whatever the value does when it is read', () => {
  const hostileError = new Proxy(new Error('proxied'), {
    ownKeys() {
      throw new Error('ownKeys trap');
    },
    getOwnPropertyDescriptor() {
      throw new Error('descriptor trap');
    },
  });
  const { proxy: revoked, revoke } = Proxy.revocable(new Error('revoked'), {});
  revoke();
  const fail = (what: string) => () => {
    throw new Error(what);
  };
  const getters = new Error('getters');
  void getters.stack; // V8 formats the stack lazily, reading name and message: before they throw.
  const throwingEverywhere = Object.defineProperties(getters, {
    name: { get: fail('name') },
    message: { get: fail('message') },
    stack: { get: fail('stack') },
    cause: { get: fail('cause'), enumerable: true },
  });
  const toJSON = Object.assign(new Error('toJSON'), {
    toJSON() {
      throw new Error('toJSON');
    },
  });
  for (const thrown of [hostileError, revoked, throwingEverywhere, toJSON, () => 1, Symbol('thrown'), new WeakMap()]) {
    const encoded = encodeThrown(thrown);
    assert.ok(Array.isArray(encoded));
    decode(encoded);
  }
  const fn = decode(encodeThrown(() => 1));
  assert.ok(fn instanceof SerializationError, String(fn));
  assert.equal(fn.path, 'thrown');
});

test("the library's own error classes come back as themselves; same-named app classes do not", () => {
  const library = decode(encodeThrown(new TimeoutError('timed out', 5, 'target')));
  assert.ok(library instanceof TimeoutError);
  assert.deepEqual([library.timeout, library.target, library.code], [5, 'target', 'ERR_CALL_TIMEOUT']);
  class AppTimeout extends Error {}
  Object.defineProperty(AppTimeout, 'name', { value: 'TimeoutError' });
  const app = decode(encodeThrown(new AppTimeout('app')));
  assert.ok(!(app instanceof TimeoutError));
  assert.ok(app instanceof Error);
  class Subclass extends TimeoutError {}
  const subclass = decode(encodeThrown(new Subclass('sub', 1, 'x')));
  assert.ok(subclass instanceof TimeoutError, 'an unknown subclass of a library class comes back as that class');
});

test('an error is rebuilt only as an error class the module exports, whatever export the child names', () => {
  class Service {}
  class QuotaError extends Error {}
  const moduleExports = { Service, QuotaError, helper: () => 1 };
  for (const name of ['Service', 'helper']) {
    assert.equal(resolveErrorClass({ className: name, exportName: name }, moduleExports), undefined, name);
  }
  assert.equal(resolveErrorClass({ className: 'QuotaError', exportName: 'QuotaError' }, moduleExports), QuotaError);
});

test('cycles and shared values survive; a reference marker in user data is not mistaken for an error', () => {
  const shared = { value: 1 };
  const error = Object.assign(new Error('cycles'), { a: shared, b: shared, self: undefined as unknown });
  error.self = error;
  error.cause = error;
  const decoded = decode(encodeThrown(error)) as typeof error;
  assert.equal(decoded.self, decoded);
  assert.equal(decoded.cause, decoded);
  assert.equal(decoded.a, decoded.b);
  const marker = Object.keys(
    (deserialize(encodeThrown(new Error('x'))[1] as Uint8Array) as { root: object }).root,
  )[0] as string;
  const withMarker = decode(encodeThrown(Object.assign(new Error('marker'), { data: { [marker]: 0 } }))) as Error & {
    data: object;
  };
  assert.deepEqual(withMarker.data, {}, "a user's key that looks like a reference is left out");
});

test('a thrown Promise, WeakMap or WeakRef is a SerializationError at `thrown`; one inside a thrown value or an error is left out', () => {
  for (const thrown of [Promise.resolve(1), new WeakMap(), new WeakRef({})]) {
    const back = decode(encodeThrown(thrown));
    assert.ok(back instanceof SerializationError, `${Object.prototype.toString.call(thrown)}: ${String(back)}`);
    assert.equal((back as InstanceType<typeof SerializationError>).path, 'thrown');
  }
  assert.deepEqual(decode(encodeThrown({ p: Promise.resolve(1), kept: 2 })), { kept: 2 });
  const error = decode(encodeThrown(Object.assign(new Error('with a promise'), { p: Promise.resolve(1), kept: 2 })));
  assert.ok(error instanceof Error && !('p' in error) && (error as Error & { kept?: number }).kept === 2);
});
