import { types } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { libraryErrorClasses, SerializationError } from '../errors.js';
import { ThrownSlot, type EncodedThrown, type ErrorNode } from '../protocol.js';

/**
 * A thrown non-error is cloned as it is. An error crosses as a table with one entry per error
 * reachable from it (its `cause`, AggregateError's `errors`, errors in its fields): `nodes` says
 * which class each one was, and under which export the declaring module offers that class; the
 * `shape` bytes (one `v8.serialize`) hold what each one had: its own properties, enumerable or not,
 * with values as v8 clones them, and a reference in place of every error, so that an error keeps
 * its class wherever it sits and cycles (`e.cause = e`) survive. No `toJSON` is called.
 *
 * The parent rebuilds each error on its class's prototype without running a constructor, and never
 * walks a key that could reach a prototype (`__proto__`, `constructor`, `prototype`): the child is
 * not trusted with the parent's integrity.
 */

/** The name under which the declaring module exports a class, if it does. */
export type ExportNameOf = (errorClass: Function) => string | undefined;

/**
 * Finds the class an error is rebuilt as, or nothing to use the nearest built-in class it extends.
 * It is told the class's name in the child, the name the declaring module exports it under, and
 * whether it was this library's own class (not an app's class of the same name).
 */
export type ErrorClassResolver = (query: {
  className: string;
  exportName?: string | undefined;
  library: boolean;
}) => Function | undefined;

/** What the `shape` bytes hold: the thrown value, with a reference in place of each error, and the errors. */
interface Payload {
  root: unknown;
  errors: ErrorRecord[];
}

/** One error: what `nodes` does not say. */
interface ErrorRecord {
  /** `name` and `message` as the child read them: for a class the parent cannot find, and DOMException. */
  name: string;
  message: string;
  /** Own properties (string keys), read through their getters. */
  props: Array<[key: string, value: unknown, enumerable: boolean]>;
  /** Its class is this library's own. */
  library: boolean;
  /** The nearest class it is an instance of that the parent has too: a built-in one, or this library's. */
  base?: string;
  baseIsLibrary?: boolean;
}

/** Where an error stood in a value: `{ [refKey]: index in the table }`. */
const refKey = '\u0000run-in-process:error';
type Ref = { [refKey]: number };

/** Keys that could reach a prototype: never sent, never read, never set. */
const unsafeKeys = new Set(['__proto__', 'constructor', 'prototype']);

/** How deep into plain objects and arrays errors are looked for; deeper, v8 clones the value as it is. */
const maxDepth = 100;

/** The global error classes a child and its parent both have, and that an error is rebuilt as. */
const builtinNames = [
  'Error',
  'TypeError',
  'RangeError',
  'SyntaxError',
  'ReferenceError',
  'EvalError',
  'URIError',
  'AggregateError',
  'DOMException',
];
const builtinClasses = new Map<string, Function>();
for (const name of builtinNames) {
  const value = (globalThis as Record<string, unknown>)[name];
  if (typeof value === 'function') builtinClasses.set(name, value);
}

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
      } catch {
        // A function, or an object that holds one: sent as far as it can be, below.
      }
    }
    return new ErrorEncoder(exportNameOf).encode(thrown);
  } catch (error) {
    return unsendable(thrown, error);
  }
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
const unreadable = Symbol('unreadable');

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

function isError(value: unknown): value is Error {
  try {
    return value instanceof Error || types.isNativeError(value);
  } catch {
    return false; // A revoked Proxy.
  }
}

function isLibraryClass(errorClass: Function): boolean {
  return libraryErrorClasses.get(safeName(errorClass) ?? '') === errorClass;
}

/** The object's class: its prototype's own `constructor`, read without running any getter. */
function classOf(value: object): Function | undefined {
  const prototype = safely(() => Object.getPrototypeOf(value) as object | null);
  return prototype ? constructorOf(prototype) : undefined;
}

function constructorOf(prototype: object): Function | undefined {
  const descriptor = safely(() => Object.getOwnPropertyDescriptor(prototype, 'constructor'));
  return typeof descriptor?.value === 'function' ? descriptor.value : undefined;
}

function safeName(errorClass: Function): string | undefined {
  const descriptor = safely(() => Object.getOwnPropertyDescriptor(errorClass, 'name'));
  return typeof descriptor?.value === 'string' ? descriptor.value : undefined;
}

/** The nearest class in the error's prototype chain that the parent has too. */
function baseClassOf(error: object): { name: string; library: boolean } | undefined {
  let prototype = safely(() => Object.getPrototypeOf(error) as object | null);
  for (let depth = 0; prototype && depth < 50; depth++) {
    const errorClass = constructorOf(prototype);
    const name = errorClass && safeName(errorClass);
    if (name !== undefined) {
      if (builtinClasses.get(name) === errorClass) return { name, library: false };
      if (libraryErrorClasses.get(name) === errorClass) return { name, library: true };
    }
    prototype = safely(() => Object.getPrototypeOf(prototype) as object | null);
  }
  return undefined;
}

function readString(error: object, key: 'name' | 'message'): string | undefined {
  const value = readThrough(() => (error as Record<string, unknown>)[key], error);
  return typeof value === 'string' ? value : undefined;
}

function readThrough(read: (this: unknown) => unknown, self: unknown): unknown {
  try {
    return read.call(self);
  } catch {
    return unreadable;
  }
}

function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
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

// ── In the parent ─────────────────────────────────────────────────────────────────────────────

/**
 * In the parent: rebuild the thrown value. Classes are restored without running their
 * constructors. Throws an Error when the encoding is malformed (the child's word is not trusted).
 */
export function decodeThrown(encoded: EncodedThrown, resolveClass: ErrorClassResolver): unknown {
  if (encoded[0] === 'value') return deserialize(encoded[ThrownSlot.bytes]);
  const shape = encoded[ThrownSlot.shape];
  const nodes = encoded[ThrownSlot.nodes];
  if (!(shape instanceof Uint8Array) || !Array.isArray(nodes)) throw malformed('not an encoded error');
  const payload = deserialize(shape) as Partial<Payload> | null;
  if (typeof payload !== 'object' || payload === null) throw malformed('no payload');
  const records = payload.errors;
  if (!Array.isArray(records) || records.length !== nodes.length) throw malformed('its errors do not match its nodes');
  const valid = records.map(validRecord);
  const errors = nodes.map((node, index) => instantiate(node, valid[index] as ErrorRecord, resolveClass));
  const revive = reviver(errors);
  for (const [index, error] of errors.entries()) {
    const record = valid[index] as ErrorRecord;
    for (const [key, value, enumerable] of record.props) {
      if (unsafeKeys.has(key)) continue;
      Object.defineProperty(error, key, { value: revive(value), enumerable, writable: true, configurable: true });
    }
    // A name or message the class gave on its prototype, and that the class found here does not.
    for (const key of ['name', 'message'] as const) {
      if (Object.hasOwn(error, key) || readString(error, key) === record[key]) continue;
      Object.defineProperty(error, key, { value: record[key], enumerable: false, writable: true, configurable: true });
    }
  }
  return revive(payload.root);
}

function malformed(why: string): Error {
  return new Error(`The child's report of a thrown error is malformed: ${why}.`);
}

function validRecord(record: unknown): ErrorRecord {
  const raw = (typeof record === 'object' && record !== null ? record : {}) as Partial<ErrorRecord>;
  const props = Array.isArray(raw.props) ? raw.props : [];
  const valid: ErrorRecord = {
    name: typeof raw.name === 'string' ? raw.name : 'Error',
    message: typeof raw.message === 'string' ? raw.message : '',
    props: props.filter(
      (prop): prop is [string, unknown, boolean] =>
        Array.isArray(prop) && typeof prop[0] === 'string' && !unsafeKeys.has(prop[0]) && typeof prop[2] === 'boolean',
    ),
    library: raw.library === true,
  };
  if (typeof raw.base === 'string') valid.base = raw.base;
  if (raw.baseIsLibrary === true) valid.baseIsLibrary = true;
  return valid;
}

/** A new error of the right class, its constructor not run; its properties come after. */
function instantiate(node: unknown, record: ErrorRecord, resolveClass: ErrorClassResolver): object {
  const { className, exportName } = (typeof node === 'object' && node !== null ? node : {}) as Partial<ErrorNode>;
  const query: Parameters<ErrorClassResolver>[0] = {
    className: typeof className === 'string' ? className : 'Error',
    exportName: typeof exportName === 'string' ? exportName : undefined,
    library: record.library,
  };
  const found = resolveClass(query);
  if (isClass(found)) return Object.create(found.prototype);
  const base = record.base;
  if (base !== undefined) {
    const baseClass = record.baseIsLibrary ? libraryErrorClasses.get(base) : builtinClasses.get(base);
    // DOMException keeps its name and message in internal slots: only its constructor can set them.
    if (base === 'DOMException' && baseClass) {
      return new (baseClass as typeof DOMException)(record.message, record.name);
    }
    if (isClass(baseClass)) return Object.create(baseClass.prototype);
  }
  return Object.create(Error.prototype);
}

function isClass(value: unknown): value is Function & { prototype: object } {
  return typeof value === 'function' && typeof value.prototype === 'object' && value.prototype !== null;
}

/** Puts each error back where a reference to it stands, in plain objects and arrays, own keys only. */
function reviver(errors: object[]): (value: unknown) => unknown {
  const seen = new Set<object>();
  const errorAt = (value: object): object | undefined => {
    if (Object.getPrototypeOf(value) !== Object.prototype || !Object.hasOwn(value, refKey)) return undefined;
    const id = (value as Ref)[refKey];
    return Number.isInteger(id) && id >= 0 && id < errors.length ? errors[id] : undefined;
  };
  const revive = (value: unknown, depth: number): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const error = errorAt(value);
    if (error) return error;
    if (depth > maxDepth + 1 || seen.has(value)) return value;
    seen.add(value);
    if (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype) {
      for (const key of Object.keys(value)) {
        if (unsafeKeys.has(key)) continue;
        const item = (value as Record<string, unknown>)[key];
        const revived = revive(item, depth + 1);
        if (revived !== item) {
          Object.defineProperty(value, key, { value: revived, enumerable: true, writable: true, configurable: true });
        }
      }
    }
    return value;
  };
  return (value) => revive(value, 0);
}
