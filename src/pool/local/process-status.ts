import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * A process's state as Linux's /proc tells it (R, S, D, T, t, Z, X, …), or undefined where that
 * cannot be read: another system, or a process already reaped.
 */
export function procState(pid: number | undefined): string | undefined {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command's name, which is in parentheses and may hold any character.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/**
 * Whether a child still runs: not seen to exit, and not dying (a zombie, or dead, in /proc). A
 * child's pipes close as it dies, a moment before its exit is heard; off Linux, that moment counts
 * as running.
 */
export function stillRuns(child: ChildProcess): boolean {
  if (child.exitCode !== null || child.signalCode !== null) return false;
  if (process.platform !== 'linux') return true;
  const state = procState(child.pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}
