import { ChildStartupError } from '../../errors.js';
import { libraryDir } from '../../shared/library-dir.js';

/**
 * Yarn's Plug'n'Play keeps packages in zip archives that only its runtime (`.pnp.cjs`, which Yarn
 * puts in NODE_OPTIONS) can read. A child loads the library's first file (a `--require` on its
 * command line) before the runtime that NODE_OPTIONS names, and could not find it in the archive:
 * every call failed with "Cannot find module '…zip/…/sentinel-first.cjs'". A sandboxed child starts
 * with an empty environment, without the runtime at all, and could not load tinypool's child entry.
 * Refused before any fork, with what to do.
 */
export function refuseUnderPlugAndPlay(pool: string, sandboxed: boolean): void {
  if (!process.versions.pnp) return;
  if (sandboxed) {
    throw refused(
      `Pool '${pool}' is sandboxed, and this app runs under Yarn's Plug'n'Play: a sandboxed child starts with an ` +
        `empty environment, without Yarn's runtime, and cannot load packages from Yarn's archives. Install with ` +
        `nodeLinker: node-modules (in .yarnrc.yml) to run sandboxed pools.`,
    );
  }
  if (/\.zip[\\/]/.test(libraryDir)) {
    throw refused(
      `Pool '${pool}' cannot start child processes: run-in-process lies in one of Yarn's archives ` +
        `(${libraryDir}), and a child loads the library's first file before Yarn's runtime can read archives. ` +
        `Unplug it: add "dependenciesMeta": { "run-in-process": { "unplugged": true } } to the app's package.json ` +
        `and run yarn install again (or set nodeLinker: node-modules in .yarnrc.yml).`,
    );
  }
}

function refused(message: string): ChildStartupError {
  return new ChildStartupError(message, null, null, '');
}
