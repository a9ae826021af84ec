import { optionError, usageError } from '../errors.js';
import { checkCallOptions, type CallOptions } from '../options.js';
import { processState } from '../shared/process-state.js';

/**
 * Per-call options travel beside the call rather than through the method's own parameters, so a
 * decorated method keeps exactly the signature its author wrote. The store is process-wide state:
 * it serves every copy of the library in the process.
 */

/**
 * Runs `fn` so that the offloaded calls it makes get `signal`, `timeout`, `priority` or `retries`.
 * Nested inside another `withCallOptions()`, both apply: the shorter timeout, either signal aborts,
 * and the inner priority and retries win.
 *
 * @example
 * const controller = new AbortController();
 * const png = await withCallOptions({ signal: controller.signal, timeout: 2_000 }, () => thumbnailer.render(svg));
 */
export function withCallOptions<T>(options: CallOptions, fn: () => T): T {
  const where = 'withCallOptions(options, fn)';
  if (options === undefined) throw optionError(`${where}: options must be an object like { signal, timeout: 2000 }.`);
  const checked = checkCallOptions(options, where);
  if (typeof fn !== 'function') throw usageError(`${where}: fn must be a function.`);
  return processState.callOptions.run(merged(currentCallOptions(), checked), fn);
}

export function currentCallOptions(): CallOptions | undefined {
  return processState.callOptions.getStore();
}

function merged(outer: CallOptions | undefined, inner: CallOptions): CallOptions {
  if (!outer) return inner;
  const signals = [outer.signal, inner.signal].filter((signal) => signal !== undefined);
  const timeouts = [outer.timeout, inner.timeout].filter((timeout) => timeout !== undefined);
  // Code called inside cannot give itself more time than its caller allowed.
  const timeout = timeouts.length > 0 ? Math.min(...timeouts) : undefined;
  const priority = inner.priority ?? outer.priority;
  const retries = inner.retries ?? outer.retries;
  return {
    ...(timeout !== undefined && { timeout }),
    ...(priority !== undefined && { priority }),
    ...(retries !== undefined && { retries }),
    ...(signals.length > 0 && { signal: signals.length === 1 ? signals[0] : AbortSignal.any(signals) }),
  };
}
