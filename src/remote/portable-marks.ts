import { types } from 'node:util';
import {
  Boxed,
  type ErrorFields,
  ErrorValue,
  errorClasses,
  EscapedKeys,
  Hole,
  isBoxed,
  isWellFormed,
  LoneSurrogates,
  LoneSurrogatesRegExp,
  NamedProperties,
  NegativeZero,
} from './portable-extensions.js';

// Before packing: what in a value msgpack would lose, and a copy of it with markers in its place
// (portable-extensions.ts).

/**
 * A sparse array is packed element by element, holes included: one so long that most of it is
 * holes (`a[3e7] = 1`) would take seconds and gigabytes to pack here, where v8 writes it in a few
 * bytes. Above this length, an array with holes is refused (a RangeError, which the callers turn
 * into a SerializationError): a Map says the same thing in as many entries as it has.
 */
const longestSparseArray = 1 << 16;

/**
 * Is there a -0, an array hole or named property, a boxed primitive, or a string that is not
 * well-formed (a value, a key, a RegExp's source) anywhere in it? Most values have none, and are
 * packed as they are. `isWellFormed` answers at once for a string of one-byte characters.
 */
export function needsCare(value: unknown, seen = new Set<object>()): boolean {
  if (typeof value === 'string') return !isWellFormed(value);
  if (Object.is(value, -0)) return true;
  if (typeof value !== 'object' || value === null || seen.has(value) || ArrayBuffer.isView(value)) return false;
  if (types.isNativeError(value)) return true;
  seen.add(value);
  if (Array.isArray(value)) {
    const { holes, named } = arrayKeys(value);
    if (holes || named.length > 0) return true;
    for (let i = 0; i < value.length; i++) if (needsCare(value[i], seen)) return true;
    return false;
  }
  if (value instanceof Map) {
    for (const [key, item] of value) if (needsCare(key, seen) || needsCare(item, seen)) return true;
    return false;
  }
  if (value instanceof Set) {
    for (const item of value) if (needsCare(item, seen)) return true;
    return false;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    if (value instanceof RegExp) return !isWellFormed(value.source);
    if (isBoxed(value)) return true;
  }
  for (const key of Object.keys(value)) {
    if (!isWellFormed(key) || needsCare((value as Record<string, unknown>)[key], seen)) return true;
  }
  return false;
}

/** A copy with the markers in place; objects keep their identity (cycles, shared references) through `copies`. */
export function withMarkers(value: unknown, copies: Map<object, unknown>): unknown {
  if (typeof value === 'string') return isWellFormed(value) ? value : new LoneSurrogates(value);
  if (Object.is(value, -0)) return new NegativeZero();
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  const known = copies.get(value);
  if (known !== undefined) return known;
  if (types.isNativeError(value)) return errorMarker(value, copies);
  if (Array.isArray(value)) {
    const { named } = arrayKeys(value);
    const copy: unknown[] = [];
    copies.set(value, copy);
    for (let i = 0; i < value.length; i++) copy.push(i in value ? withMarkers(value[i], copies) : new Hole());
    if (named.length > 0) copy.push(new NamedProperties(), copyOf(value, named, {}, copies));
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map();
    copies.set(value, copy);
    for (const [key, item] of value) copy.set(withMarkers(key, copies), withMarkers(item, copies));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    copies.set(value, copy);
    for (const item of value) copy.add(withMarkers(item, copies));
    return copy;
  }
  const marker =
    value instanceof RegExp && !isWellFormed(value.source)
      ? new LoneSurrogatesRegExp(value)
      : isBoxed(value)
        ? new Boxed(value)
        : undefined;
  if (marker) {
    copies.set(value, marker); // One boxed primitive twice in a value is one object on the other side too.
    return marker;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value; // Date, RegExp, ArrayBuffer: nothing to mark.
  const copy = {};
  copies.set(value, copy);
  return copyOf(value, Object.keys(value), copy, copies);
}

/**
 * `keys` of `source`, marked, into `copy`. When a key is not well-formed, every key is written as
 * its JSON string (which keeps lone surrogates as `\ud800` escapes), under the marker's key ''.
 * Defined rather than assigned: an own `__proto__` key stays a key.
 */
function copyOf(source: object, keys: string[], copy: object, copies: Map<object, unknown>): object {
  const escaped = !keys.every(isWellFormed);
  if (escaped) define(copy, '', new EscapedKeys());
  for (const key of keys) {
    define(copy, escaped ? JSON.stringify(key) : key, withMarkers((source as Record<string, unknown>)[key], copies));
  }
  return copy;
}

export function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

const noKeys: string[] = [];
const dense = { holes: false, named: noKeys };

/**
 * Whether an array has holes, and its named properties (`a.x = 1`, which structured clone keeps),
 * read from its own keys: indexes come first, in order, then the other keys, so the named ones are
 * those after the last index, and holes are indexes missing before it. An array's keys are listed
 * once, without visiting every index of a long array.
 */
function arrayKeys(array: unknown[]): { holes: boolean; named: string[] } {
  const keys = Object.keys(array);
  // Most arrays: as many keys as elements, the last one an index.
  if (keys.length === array.length && (keys.length === 0 || keys[keys.length - 1] === String(keys.length - 1)))
    return dense;
  let indexes = keys.length;
  while (indexes > 0 && !isIndex(keys[indexes - 1]!, array.length)) indexes--;
  const holes = indexes < array.length;
  if (holes && array.length > longestSparseArray) {
    throw new RangeError(
      `an array of length ${array.length} with holes (${indexes} elements) is too sparse to send ` +
        `through a remote pool, over ${longestSparseArray} elements: send a Map, or an array without holes`,
    );
  }
  return { holes, named: indexes === keys.length ? noKeys : keys.slice(indexes) };
}

/** An array index of an array this long: `'1'`, not `'01'`, `'1.5'`, `'-1'` or `'4294967295'`. */
function isIndex(key: string, length: number): boolean {
  const number = Number(key);
  return Number.isInteger(number) && number >= 0 && number < length && String(number) === key;
}

/** What structured clone keeps of an error (V8's WriteJSError), each field marked. */
function errorMarker(error: Error, copies: Map<object, unknown>): ErrorValue {
  const name = (error as { name?: unknown }).name;
  const fields: ErrorFields = { class: typeof name === 'string' && Object.hasOwn(errorClasses, name) ? name : 'Error' };
  const marker = new ErrorValue(fields);
  copies.set(error, marker);
  const message = Object.getOwnPropertyDescriptor(error, 'message');
  if (message && 'value' in message) fields.message = withMarkers(String(message.value), copies);
  if (typeof error.stack === 'string') fields.stack = withMarkers(error.stack, copies);
  const cause = Object.getOwnPropertyDescriptor(error, 'cause');
  if (cause && 'value' in cause) fields.cause = withMarkers(cause.value, copies);
  return marker;
}
