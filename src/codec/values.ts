import { deserialize, serialize } from 'node:v8';
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
    throw describeUncloneable(roots, whereFor, error);
  }
}

export function encodeValue(value: unknown, root: string, whereFor: string): Uint8Array {
  try {
    return serialize(value);
  } catch (error) {
    throw describeUncloneable({ [root]: value }, whereFor, error);
  }
}

/** A value that structured clone carries as it is, and that cannot fail to clone. */
function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol');
}

/**
 * A value that may travel without our own serialization: a primitive, or a typed array or
 * DataView over a plain ArrayBuffer. Structured clone keeps all of them but a Buffer, which it
 * turns into a Uint8Array: `bufferIndexes` notes where Buffers were, to re-wrap them (no copy).
 */
export function isSentAsIs(value: unknown): boolean {
  return isPrimitive(value) || (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer);
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

export function decodeValue(bytes: Uint8Array): unknown {
  return deserialize(bytes);
}

function describeUncloneable(roots: Record<string, unknown>, whereFor: string, error: unknown): SerializationError {
  const seen = new Set<object>();
  let found: Culprit | undefined;
  for (const [name, value] of Object.entries(roots)) found ??= findUncloneable(value, name, seen);
  const path = found?.path ?? Object.keys(roots).join(', ');
  const what = found?.what ?? (error instanceof Error ? error.message : String(error));
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

/** Finds the deepest part of `value` that v8 refuses to serialize. Only runs after a failure. */
function findUncloneable(value: unknown, path: string, seen: Set<object>): Culprit | undefined {
  const kind = refusedKind(value);
  if (kind !== undefined) return { path, what: kind };
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  seen.add(value);
  if (canSerialize(value)) return undefined;

  for (const [key, child] of childrenOf(value)) {
    if (child instanceof ThrowingRead) return { path: path + key, what: `reading it threw: ${child.message}` };
    const found = findUncloneable(child, path + key, seen);
    if (found) return found;
  }
  return { path, what: `${describeObject(value)} cannot be cloned` };
}

function refusedKind(value: unknown): string | undefined {
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'}) cannot be cloned`;
  if (typeof value === 'symbol') return `a symbol (${String(value)}) cannot be cloned`;
  if (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer) {
    return 'a SharedArrayBuffer cannot be shared between processes';
  }
  if (value instanceof Promise) return 'a Promise cannot be cloned (await it first)';
  if (value instanceof WeakMap || value instanceof WeakSet) return `a ${value.constructor.name} cannot be cloned`;
  return undefined;
}

function canSerialize(value: object): boolean {
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

class ThrowingRead {
  constructor(readonly message: string) {}
}

function* childrenOf(value: object): Iterable<[string, unknown]> {
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
