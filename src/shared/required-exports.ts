import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** require()'s cache, which every `require` of this process shares. */
const requireCache = createRequire(import.meta.url).cache;

/**
 * The exports of a module that require() loaded in this process, as its cache holds them, or
 * undefined. A module that a require hook compiled (`node --require tsx/cjs`, `-r @swc-node/register`,
 * ts-node) is there, where import() of the same file fails: Node 20 refuses a `.ts` extension, and
 * later lines strip its types as ESM would, without the hook, and stop at its decorators.
 */
export function requiredExports(url: string): object | undefined {
  if (!url.startsWith('file:')) return undefined;
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch {
    return undefined;
  }
  const exports: unknown = requireCache[path]?.exports;
  return (typeof exports === 'object' || typeof exports === 'function') && exports !== null ? exports : undefined;
}
