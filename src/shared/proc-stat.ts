import { readFileSync } from 'node:fs';

/**
 * The fields of Linux's /proc/<pid>/stat after the command's name (state, ppid, pgrp, session, tty,
 * tpgid, flags, …), or undefined where it cannot be read: another system, or a process already
 * reaped. The name is cut at its last `)`, as it may hold spaces and parentheses of its own.
 */
export function procStat(pid: number | 'self' | undefined): string[] | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
