import { isDenseList } from './dense-list.js';
import { deserialize } from './serializer.js';
import { libraryErrorClasses } from '../errors.js';
import { type EncodedThrown, type ErrorNode, ThrownSlot } from '../protocol.js';
import {
  builtinClass,
  type ErrorClassResolver,
  type ErrorRecord,
  maxDepth,
  type Payload,
  type Ref,
  readString,
  refKey,
  unsafeKeys,
} from './thrown-shape.js';

/**
 * In the parent: rebuild the thrown value. Classes are restored without running their
 * constructors. Throws an Error when the encoding is malformed (the child's word is not trusted).
 */
export function decodeThrown(encoded: EncodedThrown, resolveClass: ErrorClassResolver): unknown {
  if (encoded[0] === 'value') return deserialize(encoded[ThrownSlot.bytes]);
  const shape = encoded[ThrownSlot.shape];
  const nodes = encoded[ThrownSlot.nodes];
  if (!(shape instanceof Uint8Array) || !isDenseList(nodes)) throw malformed('not an encoded error');
  const payload = deserialize(shape) as Partial<Payload> | null;
  if (typeof payload !== 'object' || payload === null) throw malformed('no payload');
  const records = payload.errors;
  if (!isDenseList(records) || records.length !== nodes.length) throw malformed('its errors do not match its nodes');
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
  const props = isDenseList(raw.props) ? raw.props : [];
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
  const { className, exportName, path } = (typeof node === 'object' && node !== null ? node : {}) as Partial<ErrorNode>;
  const query: Parameters<ErrorClassResolver>[0] = {
    className: typeof className === 'string' ? className : 'Error',
    exportName: typeof exportName === 'string' ? exportName : undefined,
    library: record.library,
    thrown: Array.isArray(path) && path.length === 0,
  };
  const found = resolveClass(query);
  if (isClass(found)) return Object.create(found.prototype);
  const base = record.base;
  if (base !== undefined) {
    const baseClass = record.baseIsLibrary ? libraryErrorClasses.get(base) : builtinClass(base);
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

/**
 * An object whose prototype is `Object.prototype`: this realm's, or another's. vitest's vm pools
 * (`vmThreads`, `vmForks`) run this code in a vm context, where `v8.deserialize`, Node's own, still
 * builds its objects in Node's main realm: compared with this realm's alone, every reference to an
 * error went unseen, and the call rejected with the reference itself.
 */
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === Object.prototype) return true;
  return proto !== null && Object.getPrototypeOf(proto) === null && Object.hasOwn(proto, 'isPrototypeOf');
}

/** Puts each error back where a reference to it stands, in plain objects and arrays, own keys only. */
function reviver(errors: object[]): (value: unknown) => unknown {
  const seen = new Set<object>();
  const errorAt = (value: object): object | undefined => {
    if (!isPlainObject(value) || !Object.hasOwn(value, refKey)) return undefined;
    const id = (value as Ref)[refKey];
    return Number.isInteger(id) && id >= 0 && id < errors.length ? errors[id] : undefined;
  };
  const revive = (value: unknown, depth: number): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const error = errorAt(value);
    if (error) return error;
    if (depth > maxDepth + 1 || seen.has(value)) return value;
    seen.add(value);
    if (Array.isArray(value) || isPlainObject(value)) {
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
