import { Packr, addExtension } from 'msgpackr';

/**
 * The codec between machines. `v8.serialize` is not portable across Node majors (measured: an
 * Error with a `cause` written by Node 20 fails to deserialize on 22, 24 and 26, under the same
 * header version), and a queue is shared by machines that upgrade one at a time. msgpackr with
 * `structuredClone` keeps cycles, Map, Set, Date, RegExp, BigInt of any size, typed arrays,
 * ArrayBuffer, DataView and Buffer (as a Buffer); two things it would lose are carried by
 * extensions here: `-0` (msgpack has one zero) and array holes (it fills them with undefined).
 * Finding them costs a walk over the value, the price of a faithful copy; most values have
 * neither and are packed as they are.
 *
 * Errors never reach this codec as objects: they cross as the table of codec/thrown-shape.ts
 * (plain data, with a reference in place of each error), which this codec carries like any value.
 */
export const portableCodec = 'msgpackr-2';

class NegativeZero {}
/** Stands for an array hole while packed; unpacked as `hole`, which `withHoles` turns back into holes. */
class Hole {}
const hole = Object.freeze({ hole: true });
let holesUnpacked = 0;

// Raw extensions (pack/unpack, no nested value): nested values would share msgpackr's record table
// with the value around them, which breaks on unpacking. Types 0x21 and 0x22: msgpackr's own
// structured-clone types are letters ('s' for Set, 'r'…), which these must not shadow.
addExtension({ Class: NegativeZero, type: 0x21, pack: () => Buffer.alloc(0), unpack: () => -0 });
addExtension({
  Class: Hole,
  type: 0x22,
  pack: () => Buffer.alloc(0),
  unpack: () => {
    holesUnpacked++;
    return hole;
  },
});

const packr = new Packr({ structuredClone: true, useBigIntExtension: true, moreTypes: true });

/**
 * A sparse array is packed element by element, holes included: one so long that most of it is
 * holes (`a[3e7] = 1`) would take seconds and gigabytes to pack here, where v8 writes it in a few
 * bytes. Above this length, an array with holes is refused (a RangeError, which the callers turn
 * into a SerializationError): a Map says the same thing in as many entries as it has.
 */
const longestSparseArray = 1 << 16;

export function packPortable(value: unknown): Buffer {
  return packr.pack(needsCare(value) ? withMarkers(value, new Map()) : value);
}

/** Holes are found from the count of own keys, without visiting every index of a long array. */
function hasHoles(array: unknown[]): boolean {
  if (Object.keys(array).length === array.length) return false;
  if (array.length > longestSparseArray) {
    throw new RangeError(
      `an array of length ${array.length} with holes (${Object.keys(array).length} own keys) is too sparse to send ` +
        `through a remote pool, over ${longestSparseArray} elements: send a Map, or an array without holes`,
    );
  }
  return true;
}

export function unpackPortable(bytes: Uint8Array): unknown {
  holesUnpacked = 0;
  const value = packr.unpack(bytes);
  return holesUnpacked > 0 ? withHoles(value, new Set()) : value;
}

/** Turns each `hole` back into a hole, in place. */
function withHoles(value: unknown, seen: Set<object>): unknown {
  if (typeof value !== 'object' || value === null || seen.has(value) || ArrayBuffer.isView(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (value[i] === hole) delete value[i];
      else withHoles(value[i], seen);
    }
  } else if (value instanceof Map) {
    for (const [key, item] of value) {
      withHoles(key, seen);
      withHoles(item, seen);
    }
  } else if (value instanceof Set) {
    for (const item of value) withHoles(item, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const key of Object.keys(value)) withHoles((value as Record<string, unknown>)[key], seen);
  }
  return value;
}

/** Is there a -0 or an array hole anywhere in it? Most values have neither, and are packed as they are. */
function needsCare(value: unknown, seen = new Set<object>()): boolean {
  if (Object.is(value, -0)) return true;
  if (typeof value !== 'object' || value === null || seen.has(value) || ArrayBuffer.isView(value)) return false;
  seen.add(value);
  if (Array.isArray(value)) {
    if (hasHoles(value)) return true;
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
  for (const key of Object.keys(value)) if (needsCare((value as Record<string, unknown>)[key], seen)) return true;
  return false;
}

/** A copy with the markers in place; objects keep their identity (cycles, shared references) through `copies`. */
function withMarkers(value: unknown, copies: Map<object, unknown>): unknown {
  if (Object.is(value, -0)) return new NegativeZero();
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  const known = copies.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    copies.set(value, copy);
    for (let i = 0; i < value.length; i++) copy.push(i in value ? withMarkers(value[i], copies) : new Hole());
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
  if (Object.getPrototypeOf(value) !== Object.prototype) return value; // Date, RegExp, ArrayBuffer: no -0 inside.
  const copy: Record<string, unknown> = {};
  copies.set(value, copy);
  for (const key of Object.keys(value)) copy[key] = withMarkers((value as Record<string, unknown>)[key], copies);
  return copy;
}
