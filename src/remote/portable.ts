import { addExtension, Packr } from 'msgpackr';
import {
  type ErrorFields,
  ErrorValue,
  errorClasses,
  escapedKeys,
  hole,
  namedProperties,
  unpackCounting,
} from './portable-extensions.js';
import { define, needsCare, withMarkers } from './portable-marks.js';

/**
 * The codec between machines. `v8.serialize` is not portable across Node majors (measured: an
 * Error with a `cause` written by Node 20 fails to deserialize on 22, 24 and 26, under the same
 * header version), and a queue is shared by machines that upgrade one at a time. msgpackr with
 * `structuredClone` keeps cycles, Map, Set, Date, RegExp, BigInt of any size, typed arrays,
 * ArrayBuffer, DataView and Buffer (as a Buffer). What it would lose is carried by extensions
 * (portable-extensions.ts): `-0` (msgpack has one zero), array holes (it fills them with
 * undefined) and an array's named properties (it writes elements only), boxed primitives (it
 * sees objects of no own keys), and strings that are not well-formed UTF-16 (it writes UTF-8, where
 * a lone surrogate becomes U+FFFD), as values, keys, Map and Set members or a RegExp's source.
 * Finding them costs a walk over the value, the price of a faithful copy; most values have none
 * and are packed as they are.
 *
 * Thrown errors never reach this codec as objects: they cross as the table of codec/thrown-shape.ts
 * (plain data, with a reference in place of each error), which this codec carries like any value.
 * An Error as a value (an argument, a result) crosses as structured clone carries it (ErrorValue).
 */
// Unchanged by the extensions from 0x23 on (0x28: Error values): each carries only values this codec
// used to corrupt. A worker of a version before them fails a call that carries one ("Unknown
// extension type"), and reads every other call as it did.
export const portableCodec = 'msgpackr-2';

const options = { structuredClone: true, useBigIntExtension: true, moreTypes: true };
const packr = new Packr(options);

/**
 * An error's fields are packed on their own, by a Packr of their own (a Packr does not pack two
 * values at once): within one value, an error's cause shares no object with what lies outside it.
 * One that leads back to the error would pack forever: refused (structured clone on Node 20 cannot
 * read it back either).
 */
const packing = new Set<ErrorValue>();
addExtension({
  Class: ErrorValue,
  type: 0x28,
  pack: (marker: ErrorValue) => {
    if (packing.has(marker)) {
      throw new TypeError("an Error whose cause leads back to itself cannot be sent through a remote pool's codec");
    }
    packing.add(marker);
    try {
      return new Packr(options).pack(marker.fields);
    } finally {
      packing.delete(marker);
    }
  },
  unpack: (bytes: Uint8Array) => errorOf(unpackWith(new Packr(options), bytes) as ErrorFields),
});

/**
 * The error, made as structured clone makes it: a real error of its class (an object of its prototype
 * alone is no error to v8's serializer, which would pass it on as `{}`: a worker hands arguments to
 * its child in v8 bytes), with own stack, message and cause, none enumerable.
 */
function errorOf(fields: ErrorFields): Error {
  const error = new (Object.hasOwn(errorClasses, fields.class) ? errorClasses[fields.class]! : Error)();
  // What the constructor gave it (its own stack, and on some Node lines its message) is replaced.
  for (const key of Reflect.ownKeys(error)) Reflect.deleteProperty(error, key);
  const own = (key: string, value: unknown) =>
    Object.defineProperty(error, key, { value, enumerable: false, writable: true, configurable: true });
  own('stack', fields.stack);
  if ('message' in fields) own('message', fields.message);
  if ('cause' in fields) own('cause', fields.cause);
  return error;
}

export function packPortable(value: unknown): Buffer {
  return packr.pack(needsCare(value) ? withMarkers(value, new Map()) : value);
}

export function unpackPortable(bytes: Uint8Array): unknown {
  return unpackWith(packr, bytes);
}

function unpackWith(unpacker: Packr, bytes: Uint8Array): unknown {
  const { value, sentinels } = unpackCounting(() => unpacker.unpack(bytes));
  return sentinels ? restore(value, new Set()) : value;
}

/** Turns each sentinel back into what it marks, in place: holes, an array's named properties, escaped keys. */
function restore(value: unknown, seen: Set<object>): unknown {
  if (typeof value !== 'object' || value === null || seen.has(value) || ArrayBuffer.isView(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) {
    const named = value[value.length - 2] === namedProperties ? (value.splice(-2)[1] as object) : undefined;
    for (let i = 0; i < value.length; i++) {
      if (value[i] === hole) delete value[i];
      else restore(value[i], seen);
    }
    if (named !== undefined) {
      restore(named, seen);
      for (const [key, item] of Object.entries(named)) define(value, key, item);
    }
  } else if (value instanceof Map) {
    for (const [key, item] of value) {
      restore(key, seen);
      restore(item, seen);
    }
  } else if (value instanceof Set) {
    for (const item of value) restore(item, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    const object = value as Record<string, unknown>;
    if (object[''] === escapedKeys) unescapeKeys(object);
    for (const key of Object.keys(object)) restore(object[key], seen);
  }
  return value;
}

/** Its keys, written as JSON strings, as they were; in their order. */
function unescapeKeys(object: Record<string, unknown>): void {
  const entries = Object.entries(object);
  for (const [key] of entries) delete object[key];
  for (const [key, item] of entries) if (key !== '') define(object, JSON.parse(key) as string, item);
}
