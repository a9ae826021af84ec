/**
 * The declaring module is the first file on the stack outside the library: a helper of the app's own
 * that calls runInProcess() for its callers (`export const offload = (fn) => runInProcess(fn, …)`, a
 * decorator factory) is taken for the module of everything it wraps.
 */
export function helperHint(url: string): string {
  return (
    `If ${url} is a helper that calls runInProcess() for code declared elsewhere (a wrapper of yours, or a ` +
    `decorator factory), the helper's module is taken for the declaring module: have it pass the caller's ` +
    `module along, { module: import.meta.url } from the module that declares the code.`
  );
}
