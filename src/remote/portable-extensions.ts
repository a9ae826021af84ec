import { addExtension } from 'msgpackr';

/**
 * What stands in, while packed, for what msgpack would lose. Each is a raw msgpackr extension
 * (pack/unpack, no nested value): nested values would share msgpackr's record table with the value
 * around them, which breaks on unpacking. Types from 0x21: msgpackr's own structured-clone types
 * are letters ('s' for Set, 'r'…), which these must not shadow.
 *
 * Most unpack as the value itself. Two unpack as a sentinel, which the walk after unpacking
 * (portable.ts) turns back into what it marks: `hole` is deleted, `namedProperties` marks an array
 * whose last element holds its named properties.
 */

/** msgpack has one zero. */
export class NegativeZero {}

/** msgpackr fills a hole with undefined. */
export class Hole {}

/** `new String('s')`, `new Number(1)`, `new Boolean(false)`, `Object(1n)`: msgpackr would see an object of no own keys. */
export class Boxed {
  constructor(readonly boxed: object) {}
}

/** Follows an array's elements, and is followed by an object of its named properties. */
export class NamedProperties {}

export function isBoxed(value: object): boolean {
  return value instanceof String || value instanceof Number || value instanceof Boolean || value instanceof BigInt;
}

let sentinels = 0;

/** Runs `unpack`, and says whether it unpacked any sentinel: with none, the walk after it is skipped. */
export function unpackCounting(unpack: () => unknown): { value: unknown; sentinels: boolean } {
  sentinels = 0;
  const value = unpack();
  return { value, sentinels: sentinels > 0 };
}

function sentinel(Class: new () => object, type: number): object {
  const unpacked = Object.freeze({ [Class.name]: true });
  addExtension({
    Class,
    type,
    pack: () => Buffer.alloc(0),
    unpack: () => {
      sentinels++;
      return unpacked;
    },
  });
  return unpacked;
}

export const hole = sentinel(Hole, 0x22);
export const namedProperties = sentinel(NamedProperties, 0x27);

const utf16 = (text: string): Buffer => Buffer.from(text, 'utf16le');
const fromUtf16 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf16le');

addExtension({ Class: NegativeZero, type: 0x21, pack: () => Buffer.alloc(0), unpack: () => -0 });
addExtension({ Class: Boxed, type: 0x25, pack: ({ boxed }: Boxed) => packBoxed(boxed), unpack: unpackBoxed });

/** A tag byte (the letter of its type), then the primitive. */
function packBoxed(boxed: object): Buffer {
  if (boxed instanceof String) return Buffer.concat([Buffer.from('s'), utf16(boxed.valueOf())]);
  if (boxed instanceof Number) {
    const bytes = Buffer.alloc(9);
    bytes.write('n');
    bytes.writeDoubleLE(boxed.valueOf(), 1);
    return bytes;
  }
  if (boxed instanceof Boolean) return Buffer.from(boxed.valueOf() ? 'b1' : 'b0');
  return Buffer.from(`i${BigInt.prototype.valueOf.call(boxed).toString()}`);
}

function unpackBoxed(bytes: Uint8Array): object {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rest = buffer.subarray(1);
  switch (String.fromCharCode(buffer[0] ?? 0)) {
    case 's':
      return new String(fromUtf16(rest));
    case 'n':
      return new Number(rest.readDoubleLE(0));
    case 'b':
      return new Boolean(rest.toString() === '1');
    case 'i':
      return Object(BigInt(rest.toString('latin1')));
    default:
      throw new TypeError(`a boxed primitive of unknown type ${buffer[0]}`);
  }
}
