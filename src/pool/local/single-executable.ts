import { ChildStartupError } from '../../errors.js';

/**
 * A single executable application (`node --build-sea`, postject) cannot start a pool's children:
 * its `process.execPath` is the app's own binary, which runs the app's embedded main whatever its
 * arguments say. Each child was a fresh copy of the app, which made its own calls, whose children
 * were copies again: a chain, forking every few milliseconds, that outlived the app (none of them
 * ran the `--require` that starts a child's sentinel). Refused before any fork, with what to do.
 */
export function refuseInSingleExecutable(pool: string): void {
  if (!isSingleExecutable()) return;
  throw new ChildStartupError(
    `Pool '${pool}' cannot start child processes from a single executable application: its binary ` +
      `(${process.execPath}) runs this app again whatever it is given, not a child of the pool. Run the app with ` +
      'node (node dist/app.js), or configure the pool with a transport whose workers run under node (a remote ' +
      'queue), or, without isolation (and not for a sandboxed pool), set RUN_IN_PROCESS_INLINE=1.',
    null,
    null,
    '',
  );
}

function isSingleExecutable(): boolean {
  try {
    const sea = process.getBuiltinModule?.('node:sea') as { isSea?: () => boolean } | undefined;
    return sea?.isSea?.() === true;
  } catch {
    return false; // A Node without node:sea builds none.
  }
}
