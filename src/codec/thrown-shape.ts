import { types } from 'node:util';
import { builtinErrorNames } from '../errors.js';

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
  /** It is the value thrown itself, not a cause or an error held in it (as the child says). */
  thrown: boolean;
}) => Function | undefined;

/** What the `shape` bytes hold: the thrown value, with a reference in place of each error, and the errors. */
export interface Payload {
  root: unknown;
  errors: ErrorRecord[];
}

/** One error: what `nodes` does not say. */
export interface ErrorRecord {
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
export const refKey = '\u0000run-in-process:error';
export type Ref = { [refKey]: number };

/** Keys that could reach a prototype: never sent, never read, never set. */
export const unsafeKeys = new Set(['__proto__', 'constructor', 'prototype']);

/** How deep into plain objects and arrays errors are looked for; deeper, v8 clones the value as it is. */
export const maxDepth = 100;

/** The global error classes a child and its parent both have, and that an error is rebuilt as. */
export const builtinClasses = new Map<string, Function>();
for (const name of builtinErrorNames) {
  const value = (globalThis as Record<string, unknown>)[name];
  if (typeof value === 'function') builtinClasses.set(name, value);
}

/**
 * A class both processes have, by name: a global error class, or Node's `assert.AssertionError`,
 * which is no global (a child's failed `assert` comes back as it). node:assert is asked for only when
 * an error of that name is seen: loading it costs a booting child about 4 ms.
 */
export function builtinClass(name: string): Function | undefined {
  const global = builtinClasses.get(name);
  if (global !== undefined || name !== 'AssertionError') return global;
  return process.getBuiltinModule('node:assert').AssertionError;
}

export const unreadable = Symbol('unreadable');

export function isError(value: unknown): value is Error {
  try {
    return value instanceof Error || types.isNativeError(value);
  } catch {
    return false; // A revoked Proxy.
  }
}

/** The object's class: its prototype's own `constructor`, read without running any getter. */
export function classOf(value: object): Function | undefined {
  const prototype = safely(() => Object.getPrototypeOf(value) as object | null);
  return prototype ? constructorOf(prototype) : undefined;
}

export function constructorOf(prototype: object): Function | undefined {
  const descriptor = safely(() => Object.getOwnPropertyDescriptor(prototype, 'constructor'));
  return typeof descriptor?.value === 'function' ? descriptor.value : undefined;
}

export function safeName(errorClass: Function): string | undefined {
  const descriptor = safely(() => Object.getOwnPropertyDescriptor(errorClass, 'name'));
  return typeof descriptor?.value === 'string' ? descriptor.value : undefined;
}

export function readString(error: object, key: 'name' | 'message'): string | undefined {
  const value = readThrough(() => (error as Record<string, unknown>)[key], error);
  return typeof value === 'string' ? value : undefined;
}

export function readThrough(read: (this: unknown) => unknown, self: unknown): unknown {
  try {
    return read.call(self);
  } catch {
    return unreadable;
  }
}

export function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
