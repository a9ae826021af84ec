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
 * The module's namespace if it is loaded; else a promise that settles once it is (importedNamespace
 * then has it). Never a promise of the namespace: one with a `then` would be awaited in its place.
 */
export function importOnce(url: string): object | Promise<void> {
  const namespace = loaded.get(url);
  if (namespace) return namespace;
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
  const loading = importOnce(url);
  if (loading instanceof Promise) await loading;
}
