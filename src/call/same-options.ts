import type { PoolOptions } from '../options.js';

/**
 * Whether two checked pool options say the same: configure() called again with them (in a request
 * handler, a test's set-up) then leaves the pool as it is, instead of starting it over, and warm
 * children again each time. Checked options hold their own copies of arrays and records
 * (options.ts), so what the caller changed in an object it passed before shows here.
 */
export function sameOptions(a: PoolOptions, b: PoolOptions): boolean {
  // A transport holds its own state (connections, a queue): the same only if it is the same object.
  return a.transport === b.transport && same(a, b, true);
}

/**
 * Options that change no child: `timeout` is read as each call is made, `maxQueue` as each call
 * queues. A configure() that changes only these applies them to the pool as it is, instead of
 * starting it over: one called again faster than a child boots (a config watcher's burst of
 * events, a handler that sets a computed timeout) moved the waiting calls to a new pool each time,
 * and each new pool's booting child was dropped with the pool it came in, so the calls never ran.
 */
const appliedInPlace: ReadonlySet<string> = new Set(['timeout', 'maxQueue']);

/** Whether two checked pool options differ at most in what applies in place (above). */
export function sameChildren(a: PoolOptions, b: PoolOptions): boolean {
  const childrenOf = (options: PoolOptions) =>
    Object.fromEntries(Object.entries(options).filter(([key]) => !appliedInPlace.has(key)));
  return sameOptions(childrenOf(a), childrenOf(b));
}

/**
 * An option given as undefined is not given; within an option, a key is there or not: `env: { SECRET:
 * undefined }` takes away what `envAllow` would pass on, where `env: {}` does not.
 */
function same(a: unknown, b: unknown, top = false): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => same(item, b[i]));
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = Object.keys(a).filter((key) => !top || a[key] !== undefined);
  const otherKeys = Object.keys(b).filter((key) => !top || b[key] !== undefined);
  return keys.length === otherKeys.length && keys.every((key) => Object.hasOwn(b, key) && same(a[key], b[key]));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}
