import { importNamespace } from '../shared/import-namespace.js';

/**
 * The declaring modules a child has imported, by URL. A call awaits `import()` only the first time:
 * a warm call does not wait a turn, nor go through the loader's resolution again, for a module
 * already loaded. The runner imports the pool's `preload` modules through it too, so that the
 * first call to a preloaded module finds it here.
 */

const loading = new Map<string, Promise<void>>();
/** The resolved namespaces too: a module already loaded is used at once. */
const loaded = new Map<string, object>();

/** The namespace of a module imported through this cache, if it is. */
export function importedNamespace(url: string): object | undefined {
  return loaded.get(url);
}

/** Whether a call to this module's code runs at once, with no import to wait for. */
export function isImported(url: string): boolean {
  return loaded.has(url);
}

/**
 * Undefined once the module is loaded (importedNamespace has it); else a promise that settles once
 * it is. Never a promise of the namespace: one with a `then` would be awaited in its place. Told
 * apart by `undefined`, not by `instanceof Promise`: code in the child may replace the global
 * `Promise` (a polyfill, zone.js), and an import's promise was then taken for a loaded module, and
 * every other module's first call there failed as one that registered nothing (a review's).
 */
export function importOnce(url: string): Promise<void> | undefined {
  if (loaded.has(url)) return undefined;
  let pending = loading.get(url);
  if (!pending) {
    pending = importNamespace(url).then((box) => {
      loaded.set(url, box.ns);
    });
    loading.set(url, pending);
  }
  return pending;
}

/** Imports the module through the cache; settles once it is loaded, with nothing (see importOnce). */
export async function importModule(url: string): Promise<void> {
  await importOnce(url);
}
