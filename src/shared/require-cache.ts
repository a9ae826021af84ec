import { fileURLToPath } from 'node:url';

/**
 * A module's object in require()'s cache, which every `require` of this process shares, by the
 * module's `file:` URL; undefined for one that require() did not load (an ES module, a URL with a
 * query or hash, which require() never gives).
 */
export function requireCacheEntry(url: string): NodeJS.Module | undefined {
  if (!url.startsWith('file:') || /[?#]/.test(url)) return undefined;
  requireCache ??= process.getBuiltinModule('node:module').createRequire(import.meta.url).cache;
  try {
    return requireCache[fileURLToPath(url)];
  } catch {
    return undefined; // A URL no path stands for.
  }
}
let requireCache: NodeJS.Dict<NodeJS.Module> | undefined;
