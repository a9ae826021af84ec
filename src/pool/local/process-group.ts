import childProcess, { type ChildProcess, type ForkOptions } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { processGroupVariable } from '../../protocol.js';

/**
 * Each child leads a process group of its own, so that what its code starts (a `spawn('sleep')`,
 * a browser, a compiler) is stopped with it: when the child exits, however it exits, its group is
 * killed. POSIX only: on Windows there are no process groups, and nothing here applies.
 *
 * tinypool 2.2.0 forks its children itself, with no way to ask for `detached` (which makes the
 * child a session and group leader). So `fork` is wrapped, once, to add it for forks whose
 * environment carries our marker, and for no other: the app's own forks are left as they are.
 */
const childrenLeadGroups = process.platform !== 'win32';

const wrapped = Symbol.for('run-in-process.fork-in-own-group');

/** The environment that makes a fork a group leader; the marker also tells the child it leads one. */
export function inOwnGroup(env: Record<string, string>): Record<string, string> {
  if (!childrenLeadGroups) return env;
  installForkHook();
  return { ...env, [processGroupVariable]: '1' };
}

/** Kills what is left of a child's group once the child has exited (ESRCH: nothing was left). */
export function killGroupOf(child: ChildProcess): void {
  if (!childrenLeadGroups || child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is empty, or was never ours.
  }
}

function installForkHook(): void {
  const original = childProcess.fork as typeof childProcess.fork & { [wrapped]?: true };
  if (original[wrapped]) return;
  const fork = function (this: unknown, modulePath: string | URL, ...rest: unknown[]): ChildProcess {
    // fork(path, args?, options?): tinypool passes `args` even when it is undefined.
    const optionsAt = Array.isArray(rest[0]) || rest[0] === undefined || rest[0] === null ? 1 : 0;
    const options = rest[optionsAt] as ForkOptions | undefined;
    if (options?.env?.[processGroupVariable] === '1') rest[optionsAt] = { ...options, detached: true };
    return (original as (...args: unknown[]) => ChildProcess).call(this, modulePath, ...rest);
  };
  Object.assign(fork, { [wrapped]: true });
  childProcess.fork = fork as typeof childProcess.fork;
  // tinypool imports `fork` as an ES module binding: this makes that binding see the wrapper.
  syncBuiltinESMExports();
}
