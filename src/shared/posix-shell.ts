import { accessSync, constants } from 'node:fs';

/**
 * Whether a `/bin/sh` can be started here (POSIX, with the file executable): what the processes
 * that outlive nothing they watch are made of, a child's sentinel (child/orphan-sentinel.ts) and a
 * sandboxed pool's reaper (pool/local/orphan-reaper.ts). Each runs only the shell's builtins.
 */
export function posixShellWorks(): boolean {
  if (process.platform === 'win32') return false;
  try {
    accessSync('/bin/sh', constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
