/**
 * Why the module taken for the declaring one may not be the code's own, for a message about code the
 * child could not find there. The declaring module is the first file on the stack outside the library:
 * a helper of the app's own that calls runInProcess() for its callers (`export const offload = (fn) =>
 * runInProcess(fn, …)`, a decorator factory) is taken for the module of everything it wraps; and a
 * framework's server bundle is a chunk, not the module the code was written in.
 */
export function declaringModuleHint(url: string): string {
  if (bundleChunk.test(url)) {
    // A framework's server bundle (Next.js's .next/server): the chunk the child imports is not the code's own module.
    return (
      `${url} is a bundler's output (a framework's server bundle: Next.js's .next/): a child cannot find code ` +
      'inside a bundle. Keep run-in-process out of the bundle (Next.js: serverExternalPackages), and the offloaded ' +
      'code in a plain module outside it, loaded at run time (README: Next.js).'
    );
  }
  return (
    `If ${url} is a helper that calls runInProcess() for code declared elsewhere (a wrapper of yours, or a ` +
    `decorator factory), the helper's module is taken for the declaring module: have it pass the caller's ` +
    `module along, { module: import.meta.url } from the module that declares the code.`
  );
}

/** Where frameworks write their server bundles: Next.js, Nuxt/Nitro, SvelteKit. */
const bundleChunk = /\/(\.next|\.nuxt|\.output|\.svelte-kit)\//;
