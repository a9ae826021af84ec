import childProcess, { type ChildProcess, type ForkOptions } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { processGroupVariable } from '../../protocol.js';
import { forwardOutput } from './child-output.js';

/**
 * Every child that tinypool forks for us passes through here, the moment it is forked, so that
 * nothing tinypool does later can miss one (in an isolated pool tinypool forks children that run
 * no task of ours, and that the transport never sees):
 * - it leads a process group of its own, so that what its code starts (a `spawn('sleep')`, a
 *   browser, a compiler) is stopped with it: when the child exits, however it exits, its group is
 *   killed. POSIX only: Windows has no process groups, and there nothing the child starts is stopped;
 * - its output is passed on in a way that a closed stdout cannot turn into a crash of the parent
 *   (child-output.ts).
 *
 * tinypool 2.2.0 forks its children itself, with no way to ask for `detached` (which makes the
 * child a session and group leader). So `fork` is wrapped, once, to act on forks whose environment
 * carries our marker, and on no other: the app's own forks are left as they are.
 */
const groups = process.platform !== 'win32';

const wrapped = Symbol.for('run-in-process.fork-hook');

/** The environment that marks a fork as one of ours; the marker also tells the child it leads a group. */
export function markedAsOurs(env: Record<string, string>): Record<string, string> {
  installForkHook();
  return { ...env, [processGroupVariable]: groups ? '1' : '0' };
}

function installForkHook(): void {
  const original = childProcess.fork as typeof childProcess.fork & { [wrapped]?: true };
  if (original[wrapped]) return;
  const fork = function (this: unknown, modulePath: string | URL, ...rest: unknown[]): ChildProcess {
    // fork(path, args?, options?): tinypool passes `args` even when it is undefined.
    const optionsAt = Array.isArray(rest[0]) || rest[0] === undefined || rest[0] === null ? 1 : 0;
    const options = rest[optionsAt] as ForkOptions | undefined;
    const ours = options?.env?.[processGroupVariable] !== undefined;
    if (ours && groups) rest[optionsAt] = { ...options, detached: true };
    const child = (original as (...args: unknown[]) => ChildProcess).call(this, modulePath, ...rest);
    if (ours) adopt(child);
    return child;
  };
  Object.assign(fork, { [wrapped]: true });
  childProcess.fork = fork as typeof childProcess.fork;
  // tinypool imports `fork` as an ES module binding: this makes that binding see the wrapper.
  syncBuiltinESMExports();
}

function adopt(child: ChildProcess): void {
  // tinypool pipes the child's output into ours right after fork() returns, in the same turn.
  queueMicrotask(() => forwardOutput(child));
  if (groups) child.once('exit', () => killGroupOf(child));
}

/** Kills what is left of a child's group once the child has exited (ESRCH: nothing was left). */
function killGroupOf(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is empty.
  }
}
