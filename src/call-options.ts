import { AsyncLocalStorage } from 'node:async_hooks';
import { checkTimeout, type CallOptions } from './options.js';

/**
 * Per-call options travel beside the call rather than through the method's own parameters, so a
 * decorated method keeps exactly the signature its author wrote. One store serves every copy of
 * the library in the process.
 */
const storeKey = Symbol.for('run-in-process.call-options');
const store: AsyncLocalStorage<CallOptions> = ((globalThis as { [storeKey]?: AsyncLocalStorage<CallOptions> })[
  storeKey
] ??= new AsyncLocalStorage<CallOptions>());

/**
 * Runs `fn` so that the offloaded calls it makes get `signal` and/or `timeout`.
 *
 * @example
 * const controller = new AbortController();
 * const png = await withCallOptions({ signal: controller.signal, timeout: 2_000 }, () => thumbnailer.render(svg));
 */
export function withCallOptions<T>(options: CallOptions, fn: () => T): T {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('withCallOptions(options, fn): options must be an object like { signal, timeout }.');
  }
  if (typeof fn !== 'function') throw new TypeError('withCallOptions(options, fn): fn must be a function.');
  checkTimeout(options.timeout, 'withCallOptions()');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError('withCallOptions(): signal must be an AbortSignal.');
  }
  return store.run(options, fn);
}

export function currentCallOptions(): CallOptions | undefined {
  return store.getStore();
}
