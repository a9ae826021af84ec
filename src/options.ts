/** Options of a decorated method, a decorated class (defaults for its methods) or a wrapped function. */
export interface RunInProcessOptions {
  /** Kill the child and reject with TimeoutError when a call runs longer than this (ms). */
  timeout?: number;
  /** Run in this named pool (see `configure(name, options)`) instead of the default one. */
  pool?: string;
  /**
   * The declaring module's URL, when it cannot be read from the call stack (bundles, eval):
   * `{ module: import.meta.url }`. The child imports this module to find the code.
   */
  module?: string | URL;
  /** Function wrapper only: the id of the function within its module (defaults to `fn.name`). */
  name?: string;
}

/** Options of a pool: `configure(options)` for the default pool, `configure(name, options)` for a named one. */
export interface PoolOptions {
  /** The most children running at once. Default: `os.availableParallelism()`. */
  size?: number;
  /** A child idle this long (ms) exits; a new one starts on demand. Default: 10 000. */
  idleTimeout?: number;
  /** The children's environment. Default: the parent's `process.env` when the pool starts. */
  env?: Record<string, string | undefined>;
  /** The children's Node flags. Default: the parent's `process.execArgv` without `--inspect*` flags. */
  execArgv?: string[];
  /** Heap limit of each child in MB (`--max-old-space-size`); a child that exceeds it crashes with outOfMemory. */
  maxMemoryMb?: number;
  /** Run every call in a fresh process: no state carries over from one call to the next. */
  isolate?: boolean;
  /** A default timeout (ms) for the pool's calls; a method's or a call's own timeout wins. */
  timeout?: number;
  /** Replace a child after it has answered this many calls. */
  recycleAfterCalls?: number;
  /** Replace a child whose heap exceeds this many MB after a call. */
  recycleAboveHeapMb?: number;
  /**
   * Calls that run in one child at once (default 1). Calls beyond what the children can take wait
   * in the parent and go in batches, so tiny calls in bulk need no more than 1. More lets a child
   * interleave calls that wait on I/O, but a crash then fails every call running on that child.
   * Calls with an AbortSignal, and then calls with a timeout, always get a child to themselves.
   */
  callsPerChild?: number;
}

/** Options of a single call, given through `withCallOptions()`. */
export interface CallOptions {
  /** Abort the call: a queued call is dropped, a running call's child is killed. */
  signal?: AbortSignal;
  /** A timeout (ms) for this call only. */
  timeout?: number;
}

export function checkTimeout(value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${where}: timeout must be a positive number of milliseconds (got ${String(value)}).`);
  }
  return value;
}

export function checkRunOptions(options: unknown, where: string): RunInProcessOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${where}: options must be an object like { timeout: 5000 } (got ${String(options)}).`);
  }
  const known = new Set(['timeout', 'pool', 'module', 'name']);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new TypeError(`${where}: unknown option "${key}". Known options: ${[...known].join(', ')}.`);
    }
  }
  const { timeout, pool, module, name } = options as RunInProcessOptions;
  checkTimeout(timeout, where);
  if (pool !== undefined && (typeof pool !== 'string' || pool === '')) {
    throw new TypeError(`${where}: pool must be the name of a pool, a non-empty string (got ${String(pool)}).`);
  }
  if (module !== undefined && typeof module !== 'string' && !(module instanceof URL)) {
    throw new TypeError(`${where}: module must be a URL string such as import.meta.url (got ${String(module)}).`);
  }
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new TypeError(`${where}: name must be a non-empty string (got ${String(name)}).`);
  }
  return options as RunInProcessOptions;
}
