import { types } from 'node:util';
import { SerializationError } from '../errors.js';
import { describeUncloneable, isStackOverflow } from './uncloneable.js';
import { deserialize, type Resizable, serialize } from './serializer.js';
import { messageOf } from './describe-thrown.js';
import { bufferOf, byteLengthOf, plainView } from './views.js';

export { ownView } from './serializer.js';

/**
 * Values cross as `v8.serialize` bytes: BigInt, undefined, NaN, -0, Date, RegExp, Map, Set, typed
 * arrays, ArrayBuffer, Buffer (as a Buffer) and cycles all survive. Serializing is native and fast;
 * only when it fails do we walk the value to say where the culprit sits.
 *
 * `roots` names the top-level parts (`{ this: …, args: […] }`) so that paths read `args[1].onProgress`.
 */
export function encodeValues(roots: Record<string, unknown>, whereFor: string): Uint8Array {
  try {
    return serialize(roots);
  } catch (error) {
    // A part too deep to clone is named one level into the roots: `args[0]`, `this.tree`.
    throw describeUncloneable(roots, whereFor, error, 2);
  }
}

export function encodeValue(value: unknown, root: string, whereFor: string): Uint8Array {
  try {
    return serialize(value);
  } catch (error) {
    throw describeUncloneable({ [root]: value }, whereFor, error, 1);
  }
}

/** A value that structured clone carries as it is, and that cannot fail to clone. */
export function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol');
}

/**
 * A value that may travel without our own serialization: a primitive, or a typed array or
 * DataView over a plain ArrayBuffer. Structured clone keeps all of them but a Buffer, which it
 * turns into a Uint8Array: `bufferIndexes` notes where Buffers were, to re-wrap them (no copy).
 *
 * Only a view that IPC cannot refuse goes as it is: not on a SharedArrayBuffer (refused), not on a
 * resizable buffer (it may shrink below the view before the call is sent; serialized now, the view
 * travels as its bytes at the time of the call), and not on a detached buffer (its byteLength is
 * 0, as is that of an empty buffer, which is serialized too). A few property reads.
 */
export function isSentAsIs(value: unknown): boolean {
  if (isPrimitive(value)) return true;
  if (!ArrayBuffer.isView(value)) return false;
  const buffer = bufferOf(value);
  // By kind: a view made in another realm (a vm context) has a buffer that is no instanceof ours.
  return (
    (buffer instanceof ArrayBuffer || types.isArrayBuffer(buffer)) &&
    !(buffer as Resizable).resizable &&
    buffer.byteLength !== 0
  );
}

/**
 * Arguments that go as they are, each view among them replaced by a copy of its bytes now, up to
 * `copiedUpToBytes` in all: a call's arguments are its caller's as they were when it was made (as
 * structured clone copies at once), while it is sent later (its batch at the next turn of the event
 * loop, a queued call when a child is free), and a caller may reuse its buffer meanwhile (a reader's
 * chunk). Larger ones are sent from the caller's own memory, as a stream's `write()` sends a Buffer:
 * a copy of 64 MiB took a fifth of its echo's time here, its page faults mostly (README says so).
 * Either way, by a view whose accessors are the language's (views.ts).
 */
export function sentCopies(args: unknown[]): unknown[] {
  let bytes = 0;
  let views = false;
  for (const value of args) {
    if (isPrimitive(value)) continue;
    views = true;
    bytes += byteLengthOf(value as ArrayBufferView);
  }
  if (!views) return args;
  const copy = bytes <= copiedUpToBytes;
  for (let index = 0; index < args.length; index++) {
    const value = args[index];
    if (!isPrimitive(value)) args[index] = plainView(value as ArrayBufferView, copy);
  }
  return args;
}

const copiedUpToBytes = 512 * 1024;

export function bufferIndexes(values: readonly unknown[]): number[] | undefined {
  let indexes: number[] | undefined;
  values.forEach((value, index) => {
    if (Buffer.isBuffer(value)) (indexes ??= []).push(index);
  });
  return indexes;
}

export function asBuffer(view: unknown): Buffer {
  const bytes = view as Uint8Array;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reading values back takes more stack per level than writing them: objects nested a little under
 * 2,000 levels (at the default stack size) serialize but cannot be deserialized. That is a
 * SerializationError at `root`, not a raw RangeError.
 */
export function decodeValue(bytes: Uint8Array, root = 'result', where = 'in this process'): unknown {
  try {
    return deserialize(bytes);
  } catch (error) {
    if (isStackOverflow(error)) {
      throw new SerializationError(
        `Cannot read ${root} ${where}: it is nested too deeply to be rebuilt (the stack overflowed). ` +
          `Only structured-clone data of a modest depth crosses a process boundary; flatten it, or do this work inside the child.`,
        root,
        { cause: error },
      );
    }
    // V8 writes a few values it cannot read back: an Error whose cause is the error itself, for one.
    throw new SerializationError(
      `Cannot rebuild ${root} where it arrived: V8 wrote it but cannot read it back (${messageOf(error)}). Some values ` +
        `serialize but do not cross a process boundary, such as an Error whose cause is the error itself: send a ` +
        `simpler value (for an error, its message and the fields you need).`,
      root,
      { cause: error },
    );
  }
}
