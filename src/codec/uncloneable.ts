import { types } from 'node:util';
import { SerializationError } from '../errors.js';
import { isDetached, refusedView, serialize } from './serializer.js';
import { messageOf } from './describe-thrown.js';

/** Where in a value that cannot cross the culprit sits, and what it is: only after a failure. */

export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/**
 * `minDepth`: a part whose serialization overflows the stack is named at this depth at the least
 * (the roots are at depth 1), not deeper: the path of a part 10,000 levels down is no help.
 */
export function describeUncloneable(
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
  // V8's own messages end with a full stop ("#<Object> could not be cloned."), ours do not.
  const what =
    found?.what ??
    (isStackOverflow(error) ? 'it is nested too deeply to be cloned' : messageOf(error).replace(/\.$/, ''));
  // A function passed as an argument is most often a progress callback, which the option carries.
  const callback = /^args\[\d+\]$/.test(path) && found?.what.startsWith('a function');
  // A field of `this` that stays in this process (a bound method, a callback, a promise) belongs in a
  // private field: `this` travels as its own enumerable fields, and a #field is none of them.
  const field = /^this\.[\w$]+$/.test(path);
  const bound = field ? /^a function \(bound ([\w$]*)\)/.exec(found?.what ?? '')?.[1] : undefined;
  const service = field ? undefined : serviceHolding(roots, path);
  return new SerializationError(
    `Cannot send ${path} ${whereFor}: ${what}. Only structured-clone data crosses a process boundary ` +
      `(primitives, plain objects, arrays, Date, RegExp, Map, Set, typed arrays, Buffer, Error); ` +
      (callback
        ? `pass plain data instead, or, for a callback the child is to call, declare the method with { callbacks: true }.`
        : bound !== undefined
          ? `a method bound to the instance (${path} = this.${bound || '…'}.bind(this), in the constructor?) is a ` +
            `field of it. An offloaded method needs no binding (the child rebuilds this for it); keep a bound copy ` +
            `in a #private field, which is not sent (nor there for the offloaded method to read, in the child).`
          : field
            ? `keep what stays in this process in a #private field, which is not sent (nor there for the offloaded ` +
              `method to read, in the child), or pass plain data instead.`
            : service
              ? `${service} \`this\` is copied to the child with all its fields: offload a method of a class of its own, ` +
                `or a wrapped function, given the plain values it needs, or keep ${service.split(' ')[0]} in a #private field.`
              : `pass plain data instead, or do this work inside the child.`),
    path,
    { cause: error },
  );
}

/**
 * For a culprit inside a field of `this` that holds an instance of a class (`this.config.parser`):
 * what that field is, as a sentence, most often a dependency a framework injected (a NestJS service's
 * ConfigService, a logger), which no snapshot of `this` can carry (a review's: the message named only
 * the culprit deep inside it).
 */
function serviceHolding(roots: Record<string, unknown>, path: string): string | undefined {
  const field = /^this\.([\w$]+)\./.exec(path)?.[1];
  if (field === undefined) return undefined;
  try {
    const value = (roots['this'] as Record<string, unknown> | undefined)?.[field];
    if (typeof value !== 'object' || value === null) return undefined;
    const proto: unknown = Object.getPrototypeOf(value);
    const name = (proto as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    if (proto === null || proto === Object.prototype || typeof name !== 'string' || name === '') return undefined;
    return `this.${field} is ${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name} (a dependency injected into the instance?).`;
  } catch {
    return undefined; // A Proxy, a getter: the message goes without it.
  }
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
    // First: `instanceof` reads the prototype, which throws for a revoked Proxy.
    const kind = refusedKind(child);
    if (kind !== undefined) return { path, what: kind };
    if (child instanceof ThrowingRead) return { path, what: `reading it threw: ${child.message}` };
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
  // Before anything reads it: a Proxy's traps run on every read, and v8 never clones one.
  if (types.isProxy(value)) return 'a Proxy cannot be cloned (pass the object it wraps, or a plain copy of it)';
  // An object of Node's own whose properties are the environment's variables, not fields.
  if (value === process.env) return 'process.env cannot be cloned (pass a plain copy of it: { ...process.env })';
  if (ArrayBuffer.isView(value)) return refusedView(value);
  // By kind, not by class: a buffer made in another realm (a vm context) is not an instanceof ours.
  if (types.isArrayBuffer(value)) {
    return isDetached(value) ? 'a detached ArrayBuffer cannot be cloned (its memory was transferred)' : undefined;
  }
  if (types.isSharedArrayBuffer(value)) {
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
    return error ?? new Error(messageOf(error));
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
    if (typeof child !== 'object' || child === null || types.isProxy(child) || child instanceof ThrowingRead) continue;
    if (seen.has(child)) continue;
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
  // An error's cause and an AggregateError's errors are own properties that are not enumerable.
  if (value instanceof Error) {
    if (Object.hasOwn(value, 'cause')) yield ['.cause', readOrThrowing(value, 'cause')];
    if (value instanceof AggregateError) yield ['.errors', readOrThrowing(value, 'errors')];
  }
  const isArray = Array.isArray(value);
  for (const key of Object.keys(value)) {
    const label = isArray ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    let child: unknown;
    try {
      child = (value as Record<string, unknown>)[key];
    } catch (error) {
      child = new ThrowingRead(messageOf(error));
    }
    yield [label, child];
  }
}

function readOrThrowing(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch (error) {
    return new ThrowingRead(messageOf(error));
  }
}

function describeObject(value: object): string {
  const name = value.constructor?.name;
  return name && name !== 'Object' ? `an instance of ${name}` : 'this object';
}
