import { Packr } from 'msgpackr';
import { escapedKeys, hole, namedProperties, unpackCounting } from './portable-extensions.js';
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
 * Errors never reach this codec as objects: they cross as the table of codec/thrown-shape.ts
 * (plain data, with a reference in place of each error), which this codec carries like any value.
 */
// Unchanged by the extensions from 0x23: they carry only values that the codec used to corrupt. A
// worker of a version before them fails a call that carries one ("Unknown extension type"), and
// reads every other call as it did.
export const portableCodec = 'msgpackr-2';

const packr = new Packr({ structuredClone: true, useBigIntExtension: true, moreTypes: true });

export function packPortable(value: unknown): Buffer {
  return packr.pack(needsCare(value) ? withMarkers(value, new Map()) : value);
}

export function unpackPortable(bytes: Uint8Array): unknown {
  const { value, sentinels } = unpackCounting(() => packr.unpack(bytes));
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
