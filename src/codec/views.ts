/**
 * Typed arrays and DataViews read through the language's own accessors, not the view's: a view's own
 * `buffer` or `byteLength` (a getter defined on it, or on its class) could throw or lie, where
 * structured clone and IPC read the internal slots.
 */

const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;

function accessor<T>(prototype: object, key: PropertyKey): (this: unknown) => T {
  return Object.getOwnPropertyDescriptor(prototype, key)!.get as (this: unknown) => T;
}

/** A typed array's kind ('Float64Array'); undefined for a DataView. */
const kindOf = accessor<string | undefined>(typedArrayPrototype, Symbol.toStringTag);
const typed = {
  buffer: accessor<ArrayBufferLike>(typedArrayPrototype, 'buffer'),
  byteOffset: accessor<number>(typedArrayPrototype, 'byteOffset'),
  byteLength: accessor<number>(typedArrayPrototype, 'byteLength'),
};
const dataView = {
  buffer: accessor<ArrayBufferLike>(DataView.prototype, 'buffer'),
  byteOffset: accessor<number>(DataView.prototype, 'byteOffset'),
  byteLength: accessor<number>(DataView.prototype, 'byteLength'),
};

/** The buffer under a view (`ArrayBuffer.isView(view)` holds). */
export function bufferOf(view: ArrayBufferView): ArrayBufferLike {
  return (kindOf.call(view) === undefined ? dataView : typed).buffer.call(view);
}

/** How many bytes a view covers. */
export function byteLengthOf(view: ArrayBufferView): number {
  return (kindOf.call(view) === undefined ? dataView : typed).byteLength.call(view);
}

/**
 * A copy of the bytes a view covers (`copy`), or a view of the same bytes, in place: either way a
 * view of the same kind (a Buffer as a Buffer; a subclass of a typed array as that typed array, as
 * structured clone gives it) whose accessors are the language's. For what a call sends as it is:
 * the caller may write to its own view before the call goes, and Node's serializer, which writes the
 * call then, reads a view through its accessors.
 */
export function plainView(view: ArrayBufferView, copy: boolean): ArrayBufferView {
  const kind = kindOf.call(view);
  const read = kind === undefined ? dataView : typed;
  const buffer = read.buffer.call(view);
  const offset = read.byteOffset.call(view);
  const length = read.byteLength.call(view);
  const [bytes, at] = copy ? [copyOf(buffer, offset, length), 0] : [buffer, offset];
  if (Buffer.isBuffer(view)) return Buffer.from(bytes, at, length);
  if (kind === undefined) return new DataView(bytes, at, length);
  const Kind = (globalThis as unknown as Record<string, TypedArrayKind>)[kind]!;
  return new Kind(bytes, at, length / Kind.BYTES_PER_ELEMENT);
}

type TypedArrayKind = (new (
  buffer: ArrayBufferLike,
  offset: number,
  length: number,
) => ArrayBufferView) & {
  readonly BYTES_PER_ELEMENT: number;
};

/**
 * The bytes, into a buffer of their own: not `ArrayBuffer.prototype.slice`, which makes the copy
 * through the buffer's `constructor[Symbol.species]` (a subclass's code, on the call path).
 */
function copyOf(buffer: ArrayBufferLike, offset: number, length: number): ArrayBuffer {
  const bytes = new ArrayBuffer(length);
  new Uint8Array(bytes).set(new Uint8Array(buffer, offset, length));
  return bytes;
}
