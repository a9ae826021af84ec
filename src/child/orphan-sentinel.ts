import { type ChildProcess, spawn } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { lifelineVariable, processGroupVariable } from '../protocol.js';
import { posixShellWorks } from '../shared/posix-shell.js';
import { procStat } from '../shared/proc-stat.js';

/**
 * A child must not outlive its parent, even a parent killed with SIGKILL, and even while the
 * child's main thread is stuck in a CPU loop, or the child alone is stopped (SIGSTOP), and cannot
 * run any handler. On POSIX a child starts a sentinel beside itself, before any other code runs in it
 * (sentinel-first.ts, its first `--require`): a `/bin/sh` that runs only its
 * builtins (`trap`, `read`, `kill`), about 1.7 MiB. Its stdin is the child's lifeline, a socket
 * whose other end only the parent holds, and into which the parent never writes
 * (pool/local/child-fork.ts); the kernel closes that end when the parent ends, however it ends, and
 * the sentinel then kills its own process group: the child's (the child leads one), with what the
 * child's code started in it, and itself.
 *
 * It took the place of a watchdog thread (orphan-watchdog.ts, still used on Windows, where there is
 * no `/bin/sh`, and when the sentinel cannot be started): measured, that thread cost each child
 * ~9 MiB and a thread's boot beside its first call (bench/analysis.md, eleventh pass). The child
 * starts the sentinel itself, not the parent: a spawn forks the process that makes it, and forking
 * a parent with a large heap blocks its event loop for tens of milliseconds (a hostile review
 * measured 32 ms at 300 MB, 70–88 ms at 1 GB); a young child forks in about a millisecond.
 *
 * - The sentinel is in the child's group, so the parent's kill of that group when the child exits
 *   (child-fork.ts) ends it too, and the group's number cannot be given to another process while
 *   it lives: `kill 0` never reaches anyone else.
 * - It ignores the signals that POSIX says end or pause a shell (a hangup, a Ctrl-C, a `kill`
 *   without `-9`, SIGXCPU…): only SIGKILL, or a signal of Linux's own (SIGIO, SIGPWR, a real-time
 *   one), ends it early. One that ends while the child lives gives way to the watchdog
 *   thread, once the child's event loop turns: until then, and while it is stopped (a SIGSTOP of the
 *   whole group stops it too), a child whose event loop is stuck outlives a parent that dies. It is
 *   not started again on descriptor 6: code in the child may have closed it, or put a file there,
 *   which a new sentinel would read as the parent's death.
 * - One that cannot be spawned at all (no process left for the user, EAGAIN) gives way to the thread too.
 */
const script =
  "trap '' HUP INT QUIT TERM USR1 USR2 ALRM PIPE TSTP TTIN TTOU VTALRM PROF XCPU XFSZ SYS TRAP; read _; kill -s KILL 0";

/** Starts this child's sentinel on the lifeline `fd`; `failed` runs if it cannot start, or ends. */
export function startSentinel(fd: number, failed: () => void): void {
  let sentinel: ChildProcess;
  try {
    // Its name in a process list says what it is: `run-in-process-sentinel`.
    sentinel = spawn('/bin/sh', ['-c', script, 'run-in-process-sentinel'], {
      stdio: [fd, 'ignore', 'ignore'],
      env: {},
    });
  } catch {
    failed();
    return;
  }
  // It never keeps this child alive, and what goes wrong with it is not the calls' business.
  sentinel.unref();
  sentinel.once('error', failed);
  // Gone while this child lives (when it went with its group, this child is going too).
  sentinel.once('exit', failed);
}

/**
 * The lifeline's descriptor, when this process can have a sentinel: the parent gave it a lifeline,
 * and there is a `/bin/sh`. (Under the permission model the spawn may be denied: it then fails,
 * and the parent's reaper stands in, pool/local/orphan-reaper.ts; `--permission-audit` allows it.)
 *
 * The environment alone does not say so: code of the pool's that runs before this (a `--require`
 * from an env file, say) may fork a Node process that inherits it, and whose descriptor 6 is
 * anything; a sentinel started there would kill the child's group when that closes. So this
 * process must also lead its process group, as the parent forks it, where Linux can tell
 * (`/proc/self/stat`), and the descriptor must be a socket, as the lifeline is.
 */
export function sentinelLifeline(): number | undefined {
  const leadsGroup = process.env[processGroupVariable]?.startsWith('g:') === true;
  const lifeline = Number(process.env[lifelineVariable]);
  const usable = leadsGroup && Number.isInteger(lifeline) && lifeline > 2;
  return usable && posixShellWorks() && leadsOwnGroup() && isSocket(lifeline) ? lifeline : undefined;
}

/**
 * Whether this child's parent is PID 1: a container's first process, with no init before it (`docker
 * run` without `--init`). A sentinel would be left behind there: it outlives its child by a moment,
 * and an orphan goes to PID 1, the parent, which never reaps a process it did not start: a zombie
 * for each child ever ended, until no process could start (a review's). Such a child watches its
 * lifeline from a thread instead (orphan-watchdog.ts). (A parent already gone at this point has left
 * the child to PID 1 as well: its lifeline has closed, and the thread sees that at once.)
 */
export function parentIsNamespaceInit(): boolean {
  return process.ppid === 1;
}

/** Whether this process leads its process group; true where that cannot be read (not Linux). */
function leadsOwnGroup(): boolean {
  const stat = procStat('self');
  return stat === undefined || Number(stat[2]) === process.pid;
}

/**
 * With `bigint`: a plain fstat leaves its result in the buffer that Node's `realpathSync` reads again
 * for path parts it has cached, and a socket there made it stop resolving early. On Node 20 the ES
 * module resolver then took a symlink in node_modules for the real path, and in a pnpm install
 * (whose packages reach their dependencies only from their real path) every call failed with
 * "Cannot find module 'reflect-metadata'" (a review's). The bigint stat has a buffer of its own.
 */
function isSocket(fd: number): boolean {
  try {
    return fstatSync(fd, { bigint: true }).isSocket();
  } catch {
    return false;
  }
}
