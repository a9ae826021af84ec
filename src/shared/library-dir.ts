import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The folder of the library's compiled files (`<package>/dist/`), with a trailing separator. The
 * published build is bundled (scripts/bundle.mjs): this code may run from a chunk one folder below
 * it, or from an entry file in it, so the folder is the one, at this file's level or above, that
 * holds the child's entry file (`child/runner.js`), and not a fixed number of levels up.
 */
export const libraryDir: string = findLibraryDir();

/** The same folder as a `file:` URL, with a trailing slash. */
export const libraryUrl: string = pathToFileURL(libraryDir).href.replace(/\/?$/, '/');

function findLibraryDir(): string {
  for (const up of ['../', './']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(`${dir}child/runner.js`)) return dir;
  }
  // Only a build that lost its files gets here: better a wrong folder named than a throw at import.
  return fileURLToPath(new URL('../', import.meta.url));
}
