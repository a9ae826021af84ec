import type { ChildProcess } from 'node:child_process';
import { procStat } from '../../shared/proc-stat.js';

/**
 * A process's state as Linux's /proc tells it (R, S, D, T, t, Z, X, …), or undefined where that
 * cannot be read: another system, or a process already reaped.
 */
export function procState(pid: number | undefined): string | undefined {
  if (process.platform !== 'linux') return undefined;
  return procStat(pid)?.[0];
}

/**
 * Whether a child still runs: not seen to exit, and not dying (exiting, a zombie, or dead, in
 * /proc). A child's pipes close as it dies, a moment before its exit is heard: the kernel closes a
 * process's descriptors after it marks it exiting (PF_EXITING, in the flags of /proc's stat), and
 * before it is a zombie, so a parent reading in that moment (a loaded machine) sees it running by
 * its state alone. Off Linux, that moment counts as running.
 */
export function stillRuns(child: ChildProcess): boolean {
  if (child.exitCode !== null || child.signalCode !== null) return false;
  if (process.platform !== 'linux') return true;
  const stat = procStat(child.pid);
  if (stat === undefined) return false;
  const [state, , , , , , flags] = stat;
  return state !== 'Z' && state !== 'X' && (Number(flags) & exitingFlag) === 0;
}

/** Linux's PF_EXITING: the process is in do_exit(). */
const exitingFlag = 0x4;
