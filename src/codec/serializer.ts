import { types } from 'node:util';
import { DefaultDeserializer, DefaultSerializer } from 'node:v8';

/**
 * Serializing values, and the typed arrays and DataViews that cannot cross: on shared, detached or
 * shrunk buffers; deserializing them, each view with a buffer of its own.
 */

export interface Resizable {
  readonly resizable?: boolean;
}

/**
 * Why a view cannot cross, or undefined if it can. Only on the slow path: when serializing, or
 * when looking for the culprit of a failure.
 */
export function refusedView(view: ArrayBufferView): string | undefined {
  const buffer = view.buffer;
  const kind = Object.prototype.toString.call(view).slice(8, -1);
  // By kind, not by class: a view made in another realm (a vm context) is on no instanceof ours.
  if (types.isSharedArrayBuffer(buffer)) {
    return `a SharedArrayBuffer cannot be shared between processes (this ${kind} is a view on one)`;
  }
  if (isDetached(buffer)) return `a ${kind} on a detached ArrayBuffer cannot be cloned (its memory was transferred)`;
  if ((buffer as Resizable).resizable && isOutOfBounds(view)) {
    return `a ${kind} out of the bounds of its ArrayBuffer, which was resized below it, cannot be cloned`;
  }
  return undefined;
}

/** `ArrayBuffer.prototype.detached` is new in Node 22; before it, an empty buffer is checked by using it. */
export function isDetached(buffer: ArrayBuffer): boolean {
  if (buffer.byteLength !== 0) return false;
  const detached = (buffer as { readonly detached?: boolean }).detached;
  if (detached !== undefined) return detached;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

const typedArrayAt = Object.getPrototypeOf(Uint8Array.prototype).at as (
  this: ArrayBufferView,
  index: number,
) => unknown;
const dataViewByteLength = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength')?.get as (
  this: ArrayBufferView,
) => number;

/** Both throw a TypeError on a view out of bounds (its getters read 0 for a typed array). */
function isOutOfBounds(view: ArrayBufferView): boolean {
  try {
    if (view instanceof DataView) dataViewByteLength.call(view);
    else typedArrayAt.call(view, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * Node's own serializer (what `v8.serialize` uses), but it refuses the typed arrays and DataViews
 * that it would copy wrongly: on a SharedArrayBuffer (copied, though it is meant to be shared), on
 * a detached buffer, or out of the bounds of a resizable buffer that shrank (sent as empty, or a
 * raw TypeError). Structured clone refuses all of them too.
 */
class ValueSerializer extends DefaultSerializer {
  _writeHostObject(object: object): void {
    if (ArrayBuffer.isView(object)) {
      const refused = refusedView(object);
      if (refused !== undefined) throw new TypeError(refused);
    }
    writeHostObject.call(this, object);
  }
}
const writeHostObject = (DefaultSerializer.prototype as unknown as { _writeHostObject(object: object): void })
  ._writeHostObject;

/** `v8.serialize`, refusing the views it would copy wrongly. */
export function serialize(value: unknown): Buffer {
  const serializer = new ValueSerializer();
  serializer.writeHeader();
  serializer.writeValue(value);
  return serializer.releaseBuffer();
}

/**
 * `v8.deserialize`, giving each typed array and DataView a buffer of its own (ownView), as
 * structured clone does. Node's deserializer makes them views into the serialized bytes.
 */
export function deserialize(bytes: Uint8Array): unknown {
  const deserializer = new ValueDeserializer(bytes);
  deserializer.readHeader();
  return deserializer.readValue();
}

class ValueDeserializer extends DefaultDeserializer {
  _readHostObject(): unknown {
    return ownView(readHostObject.call(this));
  }
}
const readHostObject = (DefaultDeserializer.prototype as unknown as { _readHostObject(): unknown })._readHostObject;

/**
 * A typed array or DataView with a buffer of its own. Node's deserializers, IPC's included, make a
 * view into the bytes of the whole message, whose `.buffer` then holds the message's other values
 * too (or a shared 8 KB pool slab, when the view had to be aligned): code that reads `.buffer`
 * would see them. One copy of the view's bytes. A Buffer is left as it is: Node's own Buffers are
 * views into larger buffers too, and a copy of a large payload would cost time.
 */
export function ownView(value: unknown): unknown {
  if (!ArrayBuffer.isView(value) || Buffer.isBuffer(value)) return value;
  const { buffer, byteOffset, byteLength } = value;
  if (byteOffset === 0 && byteLength === buffer.byteLength) return value;
  const own = buffer.slice(byteOffset, byteOffset + byteLength);
  if (value instanceof DataView) return new DataView(own);
  return new (value.constructor as new (buffer: ArrayBufferLike) => ArrayBufferView)(own);
}
