import { libraryDir } from './library-dir.js';

/**
 * Which stack frames are not the user's: this library's own files, tinypool's, Node's internals,
 * and the helpers that compilers call decorators through (tslib, reflect-metadata, swc, babel,
 * oxc). The declaring module is the first frame that is none of these; a rebuilt error's stack
 * shows only the others.
 */

const foreignPaths = [
  '/node_modules/tinypool/dist/',
  '/node_modules/tslib/',
  '/node_modules/reflect-metadata/',
  '/node_modules/@swc/helpers/',
  '/node_modules/@babel/runtime/',
  '/node_modules/@oxc-project/runtime/',
  '/node_modules/run-in-process/dist/',
];

/** `location`: a file path, a URL, or a whole line of a stack trace. */
export function isLibraryFrame(location: string): boolean {
  if (location.includes('node:internal/') || location.includes(libraryDir)) return true;
  const normalized = location.replaceAll('\\', '/');
  return foreignPaths.some((path) => normalized.includes(path));
}
