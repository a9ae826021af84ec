import { DefaultSerializer, deserialize } from 'node:v8';
import { SerializationError } from '../errors.js';

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

function serialize(value: unknown): Buffer {
  const serializer = new ValueSerializer();
  serializer.writeHeader();
  serializer.writeValue(value);
  return serializer.releaseBuffer();
}

/** A value that structured clone carries as it is, and that cannot fail to clone. */
function isPrimitive(value: unknown): boolean {
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
  const buffer = value.buffer;
  return buffer instanceof ArrayBuffer && !(buffer as Resizable).resizable && buffer.byteLength !== 0;
}

interface Resizable {
  readonly resizable?: boolean;
}

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
export function decodeValue(bytes: Uint8Array, root = 'result'): unknown {
  try {
    return deserialize(bytes);
  } catch (error) {
    if (!isStackOverflow(error)) throw error;
    throw new SerializationError(
      `Cannot read ${root} in this process: it is nested too deeply to be rebuilt (the stack overflowed). ` +
        `Only structured-clone data of a modest depth crosses a process boundary; flatten it, or do this work inside the child.`,
      root,
      { cause: error },
    );
  }
}

/**
 * Why a view cannot cross, or undefined if it can. Only on the slow path: when serializing, or
 * when looking for the culprit of a failure.
 */
function refusedView(view: ArrayBufferView): string | undefined {
  const buffer = view.buffer;
  const kind = Object.prototype.toString.call(view).slice(8, -1);
  if (!(buffer instanceof ArrayBuffer)) {
    return `a SharedArrayBuffer cannot be shared between processes (this ${kind} is a view on one)`;
  }
  if (isDetached(buffer)) return `a ${kind} on a detached ArrayBuffer cannot be cloned (its memory was transferred)`;
  if ((buffer as Resizable).resizable && isOutOfBounds(view)) {
    return `a ${kind} out of the bounds of its ArrayBuffer, which was resized below it, cannot be cloned`;
  }
  return undefined;
}

/** `ArrayBuffer.prototype.detached` is new in Node 22; before it, an empty buffer is checked by using it. */
function isDetached(buffer: ArrayBuffer): boolean {
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

function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/**
 * `minDepth`: a part whose serialization overflows the stack is named at this depth at the least
 * (the roots are at depth 1), not deeper: the path of a part 10,000 levels down is no help.
 */
function describeUncloneable(
  roots: Record<string, unknown>,
  whereFor: string,
  error: unknown,
  minDepth: number,
): SerializationError {
  let found: Culprit | undefined;
  try {
    found = findUncloneable(roots, minDepth);
  } catch {
    // The search is iterative, and bounded; this is for what it cannot foresee (a Proxy, say).
  }
  const path = found?.path ?? Object.keys(roots).join(', ');
  const what =
    found?.what ??
    (isStackOverflow(error)
      ? 'it is nested too deeply to be cloned'
      : error instanceof Error
        ? error.message
        : String(error));
  return new SerializationError(
    `Cannot send ${path} ${whereFor}: ${what}. Only structured-clone data crosses a process boundary ` +
      `(primitives, plain objects, arrays, Date, RegExp, Map, Set, typed arrays, Buffer, Error); ` +
      `pass plain data instead, or do this work inside the child.`,
    path,
    { cause: error },
  );
}

interface Culprit {
  path: string;
  what: string;
}

interface Frame {
  value: object;
  path: string;
  depth: number;
  children: Iterator<[string, unknown]>;
  /** Why the value failed to serialize. */
  failure: unknown;
}

/**
 * Finds the deepest part of the roots that v8 refuses to serialize. Only runs after a failure.
 * Depth first, with a stack of its own rather than recursion, so that a value nested deeper than
 * the call stack can hold is named, not a second RangeError. It only goes down into a part that
 * fails to serialize; a part none of whose children fails is itself the culprit.
 */
function findUncloneable(roots: Record<string, unknown>, minDepth: number): Culprit | undefined {
  const seen = new Set<object>();
  const stack: Frame[] = [
    { value: roots, path: '', depth: 0, children: Object.entries(roots)[Symbol.iterator](), failure: undefined },
  ];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const next = frame.children.next();
    if (next.done) {
      stack.pop();
      if (frame.depth === 0) continue;
      if (isStackOverflow(frame.failure)) return { path: frame.path, what: tooDeep(frame.value) };
      return { path: frame.path, what: `${describeObject(frame.value)} cannot be cloned` };
    }
    const [key, child] = next.value;
    const path = frame.path + key;
    if (child instanceof ThrowingRead) return { path, what: `reading it threw: ${child.message}` };
    const kind = refusedKind(child);
    if (kind !== undefined) return { path, what: kind };
    if (typeof child !== 'object' || child === null || seen.has(child)) continue;
    seen.add(child);
    const failure = serializeFailure(child);
    if (failure === undefined) continue;
    const depth = frame.depth + 1;
    if (isStackOverflow(failure) && depth >= minDepth) return { path, what: tooDeep(child) };
    stack.push({ value: child, path, depth, children: childrenOf(child)[Symbol.iterator](), failure });
  }
  return undefined;
}

function refusedKind(value: unknown): string | undefined {
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'}) cannot be cloned`;
  if (typeof value === 'symbol') return `a symbol (${String(value)}) cannot be cloned`;
  if (typeof value !== 'object' || value === null) return undefined;
  if (ArrayBuffer.isView(value)) return refusedView(value);
  if (value instanceof ArrayBuffer) {
    return isDetached(value) ? 'a detached ArrayBuffer cannot be cloned (its memory was transferred)' : undefined;
  }
  if (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer) {
    return 'a SharedArrayBuffer cannot be shared between processes';
  }
  if (value instanceof Promise) return 'a Promise cannot be cloned (await it first)';
  if (value instanceof WeakMap || value instanceof WeakSet) return `a ${value.constructor.name} cannot be cloned`;
  return undefined;
}

function serializeFailure(value: object): unknown {
  try {
    serialize(value);
    return undefined;
  } catch (error) {
    return error ?? new Error(String(error));
  }
}

/** How deep a value nests, for the message: measured without recursion, and within bounds. */
function tooDeep(value: object): string {
  const seen = new Set<object>([value]);
  const stack: Array<Iterator<[string, unknown]>> = [childrenOf(value)[Symbol.iterator]()];
  let deepest = 1;
  let budget = 1_000_000;
  while (stack.length > 0 && budget-- > 0) {
    const next = (stack[stack.length - 1] as Iterator<[string, unknown]>).next();
    if (next.done) {
      stack.pop();
      continue;
    }
    const child = next.value[1];
    if (typeof child !== 'object' || child === null || child instanceof ThrowingRead || seen.has(child)) continue;
    seen.add(child);
    stack.push(childrenOf(child)[Symbol.iterator]());
    if (stack.length > deepest) deepest = stack.length;
  }
  return `it is nested too deeply to be cloned (${budget < 0 ? 'over ' : ''}${deepest} levels)`;
}

class ThrowingRead {
  constructor(readonly message: string) {}
}

function* childrenOf(value: object): Iterable<[string, unknown]> {
  // A typed array's elements are numbers: none of them is a culprit, and there may be millions.
  if (ArrayBuffer.isView(value)) return;
  if (value instanceof Map) {
    let index = 0;
    for (const [key, entry] of value) {
      yield [`<Map key #${index}>`, key];
      yield [`.get(${JSON.stringify(String(key))})`, entry];
      index++;
    }
    return;
  }
  if (value instanceof Set) {
    let index = 0;
    for (const entry of value) yield [`<Set item #${index++}>`, entry];
    return;
  }
  const isArray = Array.isArray(value);
  for (const key of Object.keys(value)) {
    const label = isArray ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    let child: unknown;
    try {
      child = (value as Record<string, unknown>)[key];
    } catch (error) {
      child = new ThrowingRead(error instanceof Error ? error.message : String(error));
    }
    yield [label, child];
  }
}

function describeObject(value: object): string {
  const name = value.constructor?.name;
  return name && name !== 'Object' ? `an instance of ${name}` : 'this object';
}
