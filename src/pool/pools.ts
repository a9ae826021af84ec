import type { PoolOptions } from '../options.js';
import { ChildPool } from './child-pool.js';
import { checkPoolOptions, resolveSettings } from './pool-settings.js';

/**
 * The named pools. Each starts its children lazily, on its first call, with the options it has
 * then. Reconfiguring a running pool lets its calls in flight finish on the old children while
 * new calls start new ones.
 */

interface NamedPool {
  options: PoolOptions;
  /** Given options by configure(), or warned that it never was. */
  known: boolean;
  current: ChildPool | undefined;
  /** Old pools draining after a configure() or a shutdown(). */
  retiring: Set<ChildPool>;
}

const defaultPoolName = 'default';
const pools = new Map<string, NamedPool>();

function named(name: string): NamedPool {
  let pool = pools.get(name);
  if (!pool) {
    pool = { options: {}, known: name === defaultPoolName, current: undefined, retiring: new Set() };
    pools.set(name, pool);
  }
  return pool;
}

/**
 * Sets the options of the default pool, or of a named pool used with `{ pool: name }`.
 *
 * @example
 * configure({ size: 4, maxMemoryMb: 512 });
 * configure('native', { size: 1, isolate: true, timeout: 5_000 });
 */
export function configure(options: PoolOptions): void;
export function configure(name: string, options: PoolOptions): void;
export function configure(nameOrOptions: string | PoolOptions, maybeOptions?: PoolOptions): void {
  const name = typeof nameOrOptions === 'string' ? nameOrOptions : defaultPoolName;
  const options = typeof nameOrOptions === 'string' ? maybeOptions : nameOrOptions;
  if (name === '') throw new TypeError('configure(name, options): the pool name must be a non-empty string.');
  const where = name === defaultPoolName ? 'configure(options)' : `configure('${name}', options)`;
  const pool = named(name);
  pool.options = { ...checkPoolOptions(options, where) };
  pool.known = true;
  retireCurrent(pool);
}

/** The pool a call goes to, started if needed. */
export function childPool(name: string): ChildPool {
  const pool = named(name);
  if (!pool.known) warnUnconfigured(pool, name);
  pool.current ??= new ChildPool(resolveSettings(pool.options), (broken) => {
    if (pool.current === broken) pool.current = undefined;
  });
  return pool.current;
}

/** A `{ pool: 'nativ' }` typo would otherwise pass silently, as a pool with default options. */
function warnUnconfigured(pool: NamedPool, name: string): void {
  pool.known = true;
  process.emitWarning(
    `Pool "${name}" was never configured, so it runs with the default options. Call ` +
      `configure('${name}', { … }) before its first call, or check the name in { pool: '${name}' }.`,
    { code: 'RUN_IN_PROCESS_UNCONFIGURED_POOL' },
  );
}

/** A pool's default timeout, for calls that set none of their own. */
export function poolTimeout(name: string): number | undefined {
  return named(name).options.timeout;
}

export interface ShutdownOptions {
  /** How long to let calls in flight finish before rejecting them with PoolClosedError (ms). Default: 10 000. */
  deadline?: number;
}

/**
 * Closes every pool: waits for calls in flight up to the deadline, rejects what is left, and stops
 * every child. A call made afterwards starts its pool again.
 */
export async function shutdown(options: ShutdownOptions = {}): Promise<void> {
  const deadline = options.deadline ?? 10_000;
  if (!(typeof deadline === 'number' && deadline >= 0)) {
    throw new RangeError(`shutdown(): deadline must be a non-negative number of milliseconds (got ${String(deadline)}).`);
  }
  const closing: Promise<void>[] = [];
  for (const pool of pools.values()) {
    retireCurrent(pool);
    for (const old of pool.retiring) closing.push(old.close(deadline));
  }
  await Promise.all(closing);
}

/** Moves the running pool aside: it finishes its calls in flight, then stops its children. */
function retireCurrent(pool: NamedPool): void {
  const current = pool.current;
  if (!current) return;
  pool.current = undefined;
  pool.retiring.add(current);
  void current.close(Infinity).finally(() => pool.retiring.delete(current));
}
