import { addExtension } from 'msgpackr';

/**
 * What stands in, while packed, for what msgpack would lose. Each is a raw msgpackr extension
 * (pack/unpack, no nested value): nested values would share msgpackr's record table with the value
 * around them, which breaks on unpacking. Types from 0x21: msgpackr's own structured-clone types
 * are letters ('s' for Set, 'r'…), which these must not shadow.
 *
 * Most unpack as the value itself. Three unpack as a sentinel, which the walk after unpacking
 * (portable.ts) turns back into what it marks: `hole` is deleted, `escapedKeys` marks an object
 * whose keys are JSON strings, `namedProperties` an array whose last element holds its named
 * properties.
 */

/** msgpack has one zero. */
export class NegativeZero {}

/** msgpackr fills a hole with undefined. */
export class Hole {}

/**
 * A string that is not well-formed UTF-16 (a lone surrogate, `'\ud800'`): msgpack writes strings in
 * UTF-8, which has no such thing, and each lone surrogate would come back as U+FFFD. It travels as
 * its UTF-16 code units, which Node's `utf16le` writes and reads unchanged.
 */
export class LoneSurrogates {
  constructor(readonly text: string) {}
}

/** A RegExp whose source has a lone surrogate: msgpackr writes its source as a string. */
export class LoneSurrogatesRegExp {
  constructor(readonly pattern: RegExp) {}
}

/** `new String('s')`, `new Number(1)`, `new Boolean(false)`, `Object(1n)`: msgpackr would see an object of no own keys. */
export class Boxed {
  constructor(readonly boxed: object) {}
}

/**
 * An Error as a value (an argument, a result): msgpackr's own handling writes its message in UTF-8,
 * replaces its stack, and loses what its cause holds. It crosses as structured clone carries it: its
 * class among the built-in ones (by its `name`, else Error), its own `message`, its `stack` when a
 * string, and its own `cause`, each marked like any value. `fields` is that, packed on its own
 * (portable.ts): an extension holds no nested value.
 */
export class ErrorValue {
  constructor(readonly fields: ErrorFields) {}
}

export interface ErrorFields {
  class: string;
  message?: unknown;
  stack?: unknown;
  cause?: unknown;
}

/** The classes structured clone keeps; any other error crosses as an Error. */
export const errorClasses: Record<string, ErrorConstructor> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

/** Marks, under the key '' (which no JSON string is), an object whose keys were written as JSON strings. */
export class EscapedKeys {}

/** Follows an array's elements, and is followed by an object of its named properties. */
export class NamedProperties {}

export function isBoxed(value: object): boolean {
  return value instanceof String || value instanceof Number || value instanceof Boolean || value instanceof BigInt;
}

/** ES2024 (Node 20 has it), missing from the compiler's lib (ES2023). */
export const isWellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

let sentinels = 0;

/** Runs `unpack`, and says whether it unpacked any sentinel: with none, the walk after it is skipped. */
export function unpackCounting(unpack: () => unknown): { value: unknown; sentinels: boolean } {
  // Reentered for an error's fields (ErrorValue), unpacked in the middle of the value around them.
  const around = sentinels;
  sentinels = 0;
  try {
    const value = unpack();
    return { value, sentinels: sentinels > 0 };
  } finally {
    sentinels = around;
  }
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
export const escapedKeys = sentinel(EscapedKeys, 0x26);
export const namedProperties = sentinel(NamedProperties, 0x27);

const utf16 = (text: string): Buffer => Buffer.from(text, 'utf16le');
const fromUtf16 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf16le');

addExtension({ Class: NegativeZero, type: 0x21, pack: () => Buffer.alloc(0), unpack: () => -0 });
addExtension({
  Class: LoneSurrogates,
  type: 0x23,
  pack: (marker: LoneSurrogates) => utf16(marker.text),
  unpack: fromUtf16,
});
// Flags never hold a '/': the first one ends them.
addExtension({
  Class: LoneSurrogatesRegExp,
  type: 0x24,
  pack: ({ pattern }: LoneSurrogatesRegExp) => utf16(`${pattern.flags}/${pattern.source}`),
  unpack: (bytes: Uint8Array) => {
    const text = fromUtf16(bytes);
    const slash = text.indexOf('/');
    return new RegExp(text.slice(slash + 1), text.slice(0, slash));
  },
});
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
