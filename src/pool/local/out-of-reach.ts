import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { killThroughReaper } from './orphan-reaper.js';
import { warnOnce } from '../../shared/warn-once.js';

/**
 * A child this process may no longer signal: it dropped its privileges (setuid) after the child had
 * started as the user it was (EPERM). Node tells a kill that fails so as the child's 'error', which
 * tinypool takes for the child's end and kills it again in reply, without end: the parent's stack
 * overflowed. Such a child is ended the way a parent's death ends it: its lifeline is closed, and
 * its sentinel, which runs as the child's user, kills its group (under a parent that is PID 1, the
 * child's watchdog thread does, orphan-watchdog.ts). A sandboxed child has no sentinel:
 * the reaper, started with the rights this process had then, kills it; and its IPC channel is
 * closed too, with which an idle one exits by itself.
 */
export function stopWhenOutOfReach(child: ChildProcess, lifeline: Socket | undefined): void {
  const kill = child.kill;
  child.kill = function (this: ChildProcess, signal?: NodeJS.Signals | number): boolean {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null || maySignal(child.pid))
      return kill.call(this, signal);
    lifeline?.destroy();
    if (child.connected) child.disconnect();
    killThroughReaper(child.pid);
    warnOnce('RUN_IN_PROCESS_CHILD_OUT_OF_REACH', 'kill', () => outOfReach(child.pid!));
    return false;
  };
}

function outOfReach(pid: number): string {
  return (
    `run-in-process: this process may no longer signal its child process ${pid} (EPERM): it changed its user ` +
    `(setuid) after the child had started as the one it was. Such a child is stopped as if this process had died: ` +
    `its sentinel (or, under a parent that is PID 1, its watchdog thread), or a sandboxed pool's reaper, kills ` +
    `it. Where neither can (RUN_IN_PROCESS_IPC_ONLY=1, or they ` +
    `were killed meanwhile), it runs on, and keeps its place in its pool. Drop privileges before the first call ` +
    `and before warmUp(), or shutdown() first.`
  );
}

function maySignal(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'EPERM';
  }
}
