import { addExtension } from 'msgpackr';

/**
 * What stands in, while packed, for what msgpack would lose. Each is a raw msgpackr extension
 * (pack/unpack, no nested value): nested values would share msgpackr's record table with the value
 * around them, which breaks on unpacking. Types from 0x21: msgpackr's own structured-clone types
 * are letters ('s' for Set, 'r'…), which these must not shadow.
 *
 * `-0` unpacks as itself. Two unpack as a sentinel, which the walk after unpacking
 * (portable.ts) turns back into what it marks: `hole` is deleted, `namedProperties` marks an array
 * whose last element holds its named properties.
 */

/** msgpack has one zero. */
export class NegativeZero {}

/** msgpackr fills a hole with undefined. */
export class Hole {}

/** Follows an array's elements, and is followed by an object of its named properties. */
export class NamedProperties {}

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

addExtension({ Class: NegativeZero, type: 0x21, pack: () => Buffer.alloc(0), unpack: () => -0 });
