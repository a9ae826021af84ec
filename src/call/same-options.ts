import type { PoolOptions } from '../options.js';

/**
 * Whether two checked pool options say the same: configure() called again with them (in a request
 * handler, a test's set-up) then leaves the pool as it is, instead of starting it over, and warm
 * children again each time. Checked options hold their own copies of arrays and records
 * (options.ts), so what the caller changed in an object it passed before shows here; a transport is
 * the same only if it is the same object.
 */
export function sameOptions(a: PoolOptions, b: PoolOptions): boolean {
  return same(a, b);
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => same(item, b[i]));
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = Object.keys(a).filter((key) => a[key] !== undefined);
  const otherKeys = Object.keys(b).filter((key) => b[key] !== undefined);
  return keys.length === otherKeys.length && keys.every((key) => Object.hasOwn(b, key) && same(a[key], b[key]));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}
