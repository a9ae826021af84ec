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
