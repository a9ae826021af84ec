import { types } from 'node:util';
import { isLibraryErrorClass, SerializationError } from '../errors.js';
import type { EncodedThrown, ErrorNode } from '../protocol.js';
// Refuses what v8 would copy wrongly (a view on a SharedArrayBuffer, say): such a field is left out.
import { serialize } from './serializer.js';
import {
  builtinClass,
  classOf,
  constructorOf,
  type ErrorRecord,
  type ExportNameOf,
  isError,
  maxDepth,
  type Payload,
  type Ref,
  readString,
  readThrough,
  refKey,
  safeName,
  safely,
  unreadable,
  unsafeKeys,
} from './thrown-shape.js';

/** In the child: a thrown value as it crosses (thrown-shape.ts says how). */

/**
 * In the child: encode whatever a call threw. `exportNameOf` lets us name exported error classes.
 * Never throws: what cannot be read is left out, and what cannot be sent at all becomes a
 * SerializationError that says why.
 */
export function encodeThrown(thrown: unknown, exportNameOf: ExportNameOf = () => undefined): EncodedThrown {
  try {
    if (!isError(thrown)) {
      try {
        return ['value', serialize(thrown)];
      } catch (error) {
        // Not the object's fields, the object itself: its copy would be an empty {}, not what was thrown.
        if (refusedWhole(thrown)) return unsendable(thrown, error);
        // A function, or an object that holds one: sent as far as it can be, below.
      }
    }
    return new ErrorEncoder(exportNameOf).encode(thrown);
  } catch (error) {
    return unsendable(thrown, error);
  }
}

/**
 * An object structured clone refuses for what it is, whatever its fields: a Promise, a weak
 * collection or reference, a finalization registry, a generator.
 */
function refusedWhole(thrown: unknown): boolean {
  return (
    types.isPromise(thrown) ||
    types.isWeakMap(thrown) ||
    types.isWeakSet(thrown) ||
    types.isGeneratorObject(thrown) ||
    thrown instanceof WeakRef ||
    thrown instanceof FinalizationRegistry
  );
}

function unsendable(thrown: unknown, reason: unknown): EncodedThrown {
  const what = safely(() => describeThrown(thrown)) ?? 'a value';
  const why = safely(() => describeReason(reason)) ?? 'it could not be read';
  const error = new SerializationError(
    `The call threw ${what}, which could not be sent to the parent process: ${why}`,
    'thrown',
  );
  try {
    return new ErrorEncoder(() => undefined).encode(error);
  } catch {
    return ['value', serialize(error.message)];
  }
}

class ErrorEncoder {
  readonly #nodes: ErrorNode[] = [];
  readonly #errors: object[] = [];
  readonly #refs: Ref[] = [];
  readonly #ids = new Map<object, number>();
  /** Arrays and objects already copied, so that cycles and shared values stay so. */
  readonly #copies = new Map<object, unknown>();
  /** Where the value being copied sits in the error that holds it (or in the thrown value), for the nodes' paths. */
  #path: Array<string | number> = [];

  constructor(readonly exportNameOf: ExportNameOf) {}

  encode(thrown: unknown): EncodedThrown {
    const root = this.#copy(thrown, 0);
    if (root === dropped) throw new Error(`${describeThrown(thrown)} cannot be cloned`);
    const errors: ErrorRecord[] = [];
    // Errors found while describing one are added at the end: a deep cause chain is a loop, not recursion.
    for (let index = 0; index < this.#errors.length; index++) errors.push(this.#describe(index));
    return ['error', bytesOf({ root, errors }), this.#nodes];
  }

  #refTo(error: object): Ref {
    let id = this.#ids.get(error);
    if (id === undefined) {
      id = this.#errors.length;
      this.#ids.set(error, id);
      this.#errors.push(error);
      this.#refs.push({ [refKey]: id });
      const errorClass = classOf(error);
      const className = typeof errorClass === 'function' ? safeName(errorClass) : undefined;
      const node: ErrorNode = { path: [...this.#path], className: className ?? 'Error' };
      if (errorClass && !isLibraryClass(errorClass)) {
        const exportName = safely(() => this.exportNameOf(errorClass));
        if (typeof exportName === 'string') node.exportName = exportName;
      }
      this.#nodes.push(node);
    }
    return this.#refs[id] as Ref;
  }

  #describe(id: number): ErrorRecord {
    const error = this.#errors[id] as object;
    const node = this.#nodes[id] as ErrorNode;
    // Paths start at the error that holds the value: from the top, a deep cause chain would make them quadratic.
    this.#path = [];
    const props: ErrorRecord['props'] = [];
    for (const key of safely(() => Object.getOwnPropertyNames(error)) ?? []) {
      if (unsafeKeys.has(key)) continue;
      const descriptor = safely(() => Object.getOwnPropertyDescriptor(error, key));
      if (!descriptor) continue;
      let value: unknown;
      if ('value' in descriptor) value = descriptor.value;
      else if (descriptor.get) {
        const read = readThrough(descriptor.get, error);
        if (read === unreadable) continue;
        value = read;
      } else continue;
      this.#path.push(key);
      const copy = this.#copy(value, 1);
      this.#path.pop();
      if (copy !== dropped) props.push([key, copy, descriptor.enumerable === true]);
    }
    const errorClass = classOf(error);
    const record: ErrorRecord = {
      name: readString(error, 'name') ?? node.className,
      message: readString(error, 'message') ?? '',
      props,
      library: errorClass !== undefined && isLibraryClass(errorClass),
    };
    const base = baseClassOf(error);
    if (base) {
      record.base = base.name;
      if (base.library) record.baseIsLibrary = true;
    }
    return record;
  }

  /** The value as v8 would clone it, errors replaced by references; functions and symbols dropped. */
  #copy(value: unknown, depth: number): unknown {
    if (typeof value === 'function' || typeof value === 'symbol') return dropped;
    if (typeof value !== 'object' || value === null) return value;
    if (isError(value)) return this.#refTo(value);
    if (refusedWhole(value)) return dropped; // Left out, as a function is: not an empty {} in its place.
    const known = this.#copies.get(value);
    if (known !== undefined) return known;
    const asIs = safely(() => clonedAsIs(value));
    if (asIs === undefined) return dropped; // A revoked Proxy.
    if (depth > maxDepth || asIs) return value;
    if (Array.isArray(value)) {
      // Own keys, not up to `length`: a sparse array stays sparse, and cheap.
      const copy: unknown[] = new Array(safely(() => value.length) ?? 0);
      this.#copies.set(value, copy);
      this.#copyKeys(value, copy, depth);
      return copy;
    }
    // Any other object crosses as v8 clones it: its own enumerable properties, in a plain object.
    const copy: Record<string, unknown> = {};
    this.#copies.set(value, copy);
    this.#copyKeys(value, copy, depth);
    return copy;
  }

  #copyKeys(value: object, copy: Record<string, unknown> | unknown[], depth: number): void {
    for (const key of safely(() => Object.keys(value)) ?? []) {
      if (unsafeKeys.has(key) || key === refKey) continue;
      const item = readThrough(() => (value as Record<string, unknown>)[key], value);
      if (item === unreadable) continue;
      this.#path.push(Array.isArray(value) && /^\d+$/.test(key) ? Number(key) : key);
      const itemCopy = this.#copy(item, depth + 1);
      this.#path.pop();
      if (itemCopy !== dropped) (copy as Record<string, unknown>)[key] = itemCopy;
    }
  }
}

const dropped = Symbol('dropped');

/** The payload's bytes; when v8 refuses a field (a Map that holds a function…), without that field. */
function bytesOf(payload: Payload): Uint8Array {
  try {
    return serialize(payload);
  } catch {
    // Found below, field by field.
  }
  for (const record of payload.errors) record.props = record.props.filter(([, value]) => canSerialize(value));
  return serialize(payload);
}

function canSerialize(value: unknown): boolean {
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

/** Values v8 clones by itself, that hold no error to keep: sent as they are. */
function clonedAsIs(value: object): boolean {
  return (
    ArrayBuffer.isView(value) ||
    value instanceof Date ||
    value instanceof RegExp ||
    value instanceof Map ||
    value instanceof Set ||
    value instanceof ArrayBuffer ||
    value instanceof Number ||
    value instanceof String ||
    value instanceof Boolean ||
    value instanceof BigInt
  );
}

function isLibraryClass(errorClass: Function): boolean {
  const name = safeName(errorClass);
  return name !== undefined && safely(() => isLibraryErrorClass(errorClass, name)) === true;
}

/** The nearest class in the error's prototype chain that the parent has too. */
function baseClassOf(error: object): { name: string; library: boolean } | undefined {
  let prototype = safely(() => Object.getPrototypeOf(error) as object | null);
  for (let depth = 0; prototype && depth < 50; depth++) {
    const errorClass = constructorOf(prototype);
    const name = errorClass && safeName(errorClass);
    if (errorClass && name !== undefined) {
      if (builtinClass(name) === errorClass) return { name, library: false };
      if (isLibraryClass(errorClass)) return { name, library: true };
    }
    prototype = safely(() => Object.getPrototypeOf(prototype) as object | null);
  }
  return undefined;
}

function describeThrown(thrown: unknown): string {
  if (typeof thrown === 'function') return `a function (${safeName(thrown) || 'anonymous'})`;
  if (!isError(thrown)) return typeof thrown === 'object' && thrown !== null ? 'an object' : `a ${typeof thrown}`;
  const name = readString(thrown, 'name') ?? 'Error';
  const message = readString(thrown, 'message');
  return message === undefined ? `an error (${name})` : `an error (${name}: ${message})`;
}

function describeReason(reason: unknown): string {
  return readString(reason as object, 'message') ?? 'it could not be read';
}
