import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { flagName } from '../../node-flags.js';

/**
 * NODE_OPTIONS as a child gets it from the env files that its flags name (`--env-file`,
 * `--env-file-if-exists`, the parent's own when the pool takes the parent's flags), for a child
 * whose environment has none: Node reads them as it starts, and runs a `--require` set there before
 * the command line's (child-fork.ts must know it). The last file that sets it wins, as in Node; a
 * file that cannot be read is Node's to report. `cwd` is asked for only where a file's path is
 * relative: `process.cwd()` throws once the working directory is deleted, where a fork still works.
 */
export function envFileNodeOptions(execArgv: readonly string[], cwd: () => string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i]!;
    const name = flagName(flag);
    if (name !== '--env-file' && name !== '--env-file-if-exists') continue;
    const path = flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : execArgv[++i];
    if (path === undefined) continue;
    try {
      found = parseEnv(readFileSync(isAbsolute(path) ? path : resolve(cwd(), path), 'utf8'))['NODE_OPTIONS'] ?? found;
    } catch {
      // Missing or unreadable: Node fails the child's start (or skips an `-if-exists` one).
    }
  }
  return found;
}
