/**
 * One 'abort' listener per AbortSignal, however many calls share it. A server that passes one
 * signal (its shutdown's, a request's) to many calls would otherwise add a listener per call, and
 * Node warns past ten on one signal (MaxListenersExceededWarning), which the library must not print.
 * The one listener stays until the signal aborts, holding only an empty set once its calls settled.
 */
const watchers = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `onAbort` when `signal` aborts; the function returned stops that. */
export function watchAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let listeners = watchers.get(signal);
  if (!listeners) {
    const all = new Set<() => void>();
    listeners = all;
    watchers.set(signal, all);
    signal.addEventListener(
      'abort',
      () => {
        watchers.delete(signal);
        for (const listener of [...all]) listener();
      },
      { once: true },
    );
  }
  const own = listeners;
  own.add(onAbort);
  return () => own.delete(onAbort);
}

const reasonGetter = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'reason')?.get;
const abortedGetter = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')?.get;

/**
 * `signal.reason`, as the signal holds it: read through AbortSignal's own accessor, so that a getter
 * defined on the signal (which could throw from the abort listener, where nothing catches it) is not
 * what the call's AbortError carries.
 */
export function reasonOf(signal: AbortSignal): unknown {
  try {
    return reasonGetter ? reasonGetter.call(signal) : signal.reason;
  } catch (error) {
    return error;
  }
}

/** `signal.aborted`, as the signal holds it, read as `reasonOf` reads its reason. */
export function abortedOf(signal: AbortSignal | undefined): boolean {
  if (signal === undefined) return false;
  try {
    return (abortedGetter ? abortedGetter.call(signal) : signal.aborted) === true;
  } catch {
    return false;
  }
}
