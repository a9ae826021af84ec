import { deserialize, serialize } from 'node:v8';
import { deserializeError, isErrorLike, serializeError } from 'serialize-error';
import { ThrownSlot, type EncodedThrown, type ErrorNode } from '../protocol.js';

/**
 * Thrown values cross in two layers. serialize-error gives the error tree its shape (class name,
 * message, stack, `cause`, AggregateError's `errors`, `code` and the other own properties) as JSON-safe
 * data; alongside it, one node per error in the tree says which class it was, under which export
 * the declaring module offers that class, and carries the own fields that JSON would mangle
 * (a Date, a BigInt, a Buffer) as v8 bytes. A thrown non-error is cloned as it is.
 */

/** The name under which the declaring module exports a class, if it does. */
export type ExportNameOf = (errorClass: Function) => string | undefined;

/** In the child: encode whatever a call threw. `exportNameOf` lets us name exported error classes. */
export function encodeThrown(thrown: unknown, exportNameOf: ExportNameOf = () => undefined): EncodedThrown {
  if (!isError(thrown)) {
    try {
      return ['value', serialize(thrown)];
    } catch {
      // A function or the like: serialize-error turns it into a NonError with a description.
    }
  }
  const nodes: ErrorNode[] = [];
  collectNodes(thrown, [], nodes, new Set(), exportNameOf);
  return ['error', serializeError(thrown), nodes];
}

/** Finds a class for an error node, or nothing to keep the class serialize-error chose. */
export type ErrorClassResolver = (node: ErrorNode) => Function | undefined;

/** In the parent: rebuild the thrown value. Classes are restored without running their constructors. */
export function decodeThrown(encoded: EncodedThrown, resolveClass: ErrorClassResolver): unknown {
  if (encoded[0] === 'value') return deserialize(encoded[ThrownSlot.bytes]);
  const error = deserializeError(encoded[ThrownSlot.shape]);
  for (const node of encoded[ThrownSlot.nodes]) {
    const target = valueAt(error, node.path);
    if (typeof target !== 'object' || target === null) continue;
    const errorClass = resolveClass(node);
    if (errorClass && !(target instanceof errorClass)) Object.setPrototypeOf(target, errorClass.prototype);
    if (node.fields) Object.assign(target, deserialize(node.fields));
  }
  return error;
}

function isError(value: unknown): value is Error {
  return value instanceof Error || isErrorLike(value);
}

const structuralKeys = new Set(['name', 'message', 'stack', 'cause', 'errors']);

function collectNodes(
  value: unknown,
  path: Array<string | number>,
  nodes: ErrorNode[],
  seen: Set<object>,
  exportNameOf: ExportNameOf,
): void {
  if (!isError(value) || seen.has(value)) return;
  seen.add(value);
  const errorClass = value.constructor;
  const node: ErrorNode = { path, className: typeof errorClass === 'function' ? errorClass.name : 'Error' };
  const exportName = typeof errorClass === 'function' ? exportNameOf(errorClass) : undefined;
  if (exportName !== undefined) node.exportName = exportName;
  const fields = typedFieldsOf(value);
  if (fields) node.fields = fields;
  nodes.push(node);

  const { cause, errors } = value as { cause?: unknown; errors?: unknown };
  if (cause !== undefined) collectNodes(cause, [...path, 'cause'], nodes, seen, exportNameOf);
  if (Array.isArray(errors)) {
    for (const [index, inner] of errors.entries()) {
      collectNodes(inner, [...path, 'errors', index], nodes, seen, exportNameOf);
    }
  }
}

/** Own fields whose type JSON would lose, and that v8 can clone. */
function typedFieldsOf(error: object): Uint8Array | undefined {
  const fields: Record<string, unknown> = {};
  let count = 0;
  for (const key of Object.keys(error)) {
    if (structuralKeys.has(key)) continue;
    let value: unknown;
    try {
      value = (error as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    if (!needsTypedCopy(value)) continue;
    try {
      serialize(value);
      fields[key] = value;
      count++;
    } catch {
      // Left to serialize-error's JSON-safe rendering.
    }
  }
  return count > 0 ? serialize(fields) : undefined;
}

function needsTypedCopy(value: unknown): boolean {
  if (value === undefined || typeof value === 'bigint') return true;
  if (typeof value === 'number') return !Number.isFinite(value) || Object.is(value, -0);
  return typeof value === 'object' && value !== null && !isError(value);
}

function valueAt(root: unknown, path: Array<string | number>): unknown {
  let current = root;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}
