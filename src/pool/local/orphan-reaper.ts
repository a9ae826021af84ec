import { type ChildProcess, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { posixShellWorks } from '../../shared/posix-shell.js';
import { procState } from './process-status.js';
import { modelFlags } from './sandbox.js';
import { clearInterval, clearTimeout, setInterval, setTimeout, wallNow } from '../../shared/real-clock.js';
import { warnOnce } from '../../shared/warn-once.js';

/**
 * Stops the children of sandboxed pools when this process dies, however it dies, SIGKILL included.
 * Those children cannot watch for it themselves: the permission model denies them both the
 * sentinel that each child of another pool starts beside itself (child/orphan-sentinel.ts, a
 * spawn) and the watchdog thread that stands in for it (child/orphan-watchdog.ts), a thread that on
 * Node 22 and later escapes the model when allowed (nodejs/node#62222).
 *
 * So the parent starts one small process of its own, with the first such child: the reaper. It
 * reads the pids of the children to watch (`+pid` and `-pid` lines; `!pid` to kill one now) from a pipe whose write end
 * only this process holds. The kernel closes that end when this process ends, whatever ends it;
 * the reaper then kills each listed child's process group (each child leads one: child-fork.ts),
 * and exits. It runs in a session of its own, so that a Ctrl-C or a kill of this process's group
 * does not end it first. It lives while there are children to watch (and two seconds more), never
 * keeps this process alive, and what goes wrong with it never reaches this process. A reaper that
 * dies is replaced at once, and the new one told of every child still watched.
 *
 * On POSIX it is a `/bin/sh` that runs only its builtins (`trap`, `read`, `case`, `kill`), as the
 * sentinels are: under 2 MiB, where a Node process took ~40 MiB, and no inspector that a child
 * could open with SIGUSR1 (anyone who can reach 127.0.0.1, a sandboxed child below Node 25 among
 * them, could run code in it, outside the sandbox). It ignores the signals that POSIX says end or
 * pause a shell. A child can still kill it (SIGKILL, or a signal of Linux's own: SIGIO, SIGPWR, a
 * real-time one) or stop it (SIGSTOP): a process of the same user can signal another. Killed, it is
 * replaced. Stopped, it cannot act until it is let go on: this process sends it SIGCONT with each
 * line, each second while it watches children (checkEverySecond), when it retires it and when this
 * process exits, and replaces one that leaves lines unread or is stopped again; a child that stops
 * it less than a second before this process is killed outlives this process (README, "When things
 * go wrong").
 *
 * Where there is no `/bin/sh` (Windows), or with `RUN_IN_PROCESS_IPC_ONLY=1` (which runs the
 * Windows path here), it is a Node process: under the permission model itself (which keeps the
 * inspector shut; it needs no file, only its pipe and signals), with `--disable-sigusr1` where Node
 * has it, and a listener that ignores the signal.
 */

/**
 * The reaper, in either language. Each keeps the pids it is given (its arguments, then `+pid` and
 * `-pid` lines) and, at the end of its input, kills each one's group, or the pid where that fails. A
 * pid is taken only as digits, 2 or more: `kill -- -1` would signal every process of the user.
 */
const shellScript = `trap '' HUP INT QUIT TERM USR1 USR2 ALRM PIPE TSTP TTIN TTOU VTALRM PROF XCPU XFSZ SYS TRAP
valid() { case $1 in ''|*[!0-9]*|0*|1) return 1 ;; esac; }
pids=
for pid in "$@"; do valid "$pid" && pids="$pids $pid"; done
while read -r line; do
  pid=\${line#?}
  valid "$pid" || continue
  case $line in
    +*) pids="$pids $pid" ;;
    -*) kept=; for p in $pids; do [ "$p" = "$pid" ] || kept="$kept $p"; done; pids=$kept ;;
    !*) kill -s KILL -- "-$pid" 2>/dev/null || for p in $pids; do [ "$p" = "$pid" ] && kill -s KILL "$p" 2>/dev/null; done ;;
  esac
done
for p in $pids; do kill -s KILL -- "-$p" 2>/dev/null || kill -s KILL "$p" 2>/dev/null; done`;

const nodeScript = `
process.on('SIGUSR1', () => {});
const valid = (pid) => Number.isSafeInteger(pid) && pid > 1;
const pids = new Set(process.argv.slice(1).map(Number).filter(valid));
let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (pending + chunk).split('\\n');
  pending = lines.pop();
  for (const line of lines) {
    const pid = Number(line.slice(1));
    if (!valid(pid)) continue;
    if (line[0] === '+') pids.add(pid);
    else if (line[0] === '-') pids.delete(pid);
    else if (line[0] === '!') {
      try { process.kill(-pid, 'SIGKILL'); } catch { if (pids.has(pid)) try { process.kill(pid, 'SIGKILL'); } catch {} }
    }
  }
});
process.stdin.on('close', () => {
  for (const pid of pids) {
    try { process.kill(-pid, 'SIGKILL'); } catch { try { process.kill(pid, 'SIGKILL'); } catch {} }
  }
  process.exit(0);
});`;

/** Its name in a process list: `run-in-process-reaper` (the shell's `$0`; the Node one's last argument but the pids). */
const reaperName = 'run-in-process-reaper';

/** The reaper's command and arguments, the children already watched among them. */
function reaperCommand(pids: string[]): [string, string[]] {
  useShell ??= posixShellWorks() && process.env.RUN_IN_PROCESS_IPC_ONLY !== '1';
  if (useShell) return ['/bin/sh', ['-c', shellScript, reaperName, ...pids]];
  const sigusr1 = process.allowedNodeEnvironmentFlags.has('--disable-sigusr1') ? ['--disable-sigusr1'] : [];
  return [process.execPath, [...modelFlags(), ...sigusr1, '-e', nodeScript, reaperName, ...pids]];
}
let useShell: boolean | undefined;

/** The children being watched, so that a reaper that had to be replaced learns them all. */
const watched = new Set<number>();
/** The reaper now, and the pipe it reads. */
let current: { process: ChildProcess; pipe: Writable } | undefined;

/** Has `child` (and its process group) killed by the reaper if this process dies before it exits. */
export function reapWithParent(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  watched.add(pid);
  tell(`+${pid}\n`);
  clearTimeout(retiring);
  child.once('exit', () => {
    watched.delete(pid);
    tell(`-${pid}\n`);
    // Nothing left to watch: the reaper exits, unless another child comes soon (an isolated pool
    // starts one per call), and then the next sandboxed child starts another.
    if (watched.size === 0) retiring = setTimeout(retire, lingerMs).unref();
  });
}

const lingerMs = 2_000;
let retiring: NodeJS.Timeout | undefined;

/**
 * Lines that wait to be written, beyond what the pipe itself holds (64 KiB or more), past which a
 * reaper is taken for stopped (SIGSTOP, by a child that stops it again after each SIGCONT: it reads
 * each line at once otherwise) and replaced: unsent lines would pile up, and a write that the
 * kernel cannot take keeps this process alive, unref'd pipe or not.
 */
const stuckBytes = 4 * 1024;

function retire(): void {
  if (watched.size > 0 || !current) return;
  const { process: reaper, pipe } = current;
  current = undefined;
  pipe.end();
  // A reaper a child stopped would never read that end, and would stay, stopped, for ever.
  resume(reaper);
  setTimeout(() => signal(reaper, 'SIGKILL'), lingerMs).unref();
}

/**
 * Has the reaper kill a child's process group now (a `!pid` line; the child itself if it watches it
 * and the group cannot be): for a child this process may not signal itself (it dropped its
 * privileges after starting it, EPERM), which the reaper, started before with the rights it had
 * then, still may (child-fork.ts); or the group a child left as it exited. A sandboxed child has no
 * sentinel to do it, and one that runs a CPU loop never reads its closed IPC channel.
 */
export function killThroughReaper(pid: number): void {
  if (current) tell(`!${pid}\n`);
}

/** Whether a reaper runs (watching children, or lingering after the last one). */
export function reaperRunning(): boolean {
  return current !== undefined;
}

/**
 * Ends a reaper that watches nothing now, not after its linger, and settles once it has exited: a
 * worker thread that ends must see it exit first (pool/thread-end.ts).
 */
export function reaperGone(): Promise<void> {
  const reaper = current?.process;
  if (!reaper || watched.size > 0) return Promise.resolve();
  const exited = new Promise<void>((resolve) => {
    // One this process may no longer signal (it changed its user since the reaper started), which a
    // child stopped (SIGSTOP), can be neither resumed nor killed: not waited for past its kill's time,
    // or a thread's shutdown() would never settle, nor the thread end.
    const giveUp = setTimeout(() => {
      warnOnce('RUN_IN_PROCESS_CHILD_OUT_OF_REACH', 'reaper', () => reaperOutOfReach(reaper.pid));
      resolve();
    }, lingerMs + giveUpMs);
    reaper.once('exit', () => {
      clearTimeout(giveUp);
      resolve();
    });
  });
  clearTimeout(retiring);
  retire();
  return exited;
}

/** Past its kill (`lingerMs` after it was told to end), how long a reaper's exit is waited for. */
const giveUpMs = 1_000;

function reaperOutOfReach(pid: number | undefined): string {
  return (
    `run-in-process: the reaper of the sandboxed pools (pid ${pid}) did not end when told to, nor when killed: ` +
    `this process may no longer signal it (it changed its user, setuid, after the reaper started), and a child ` +
    `may have stopped it (SIGSTOP). It is left as it is. Drop privileges before the first call and before ` +
    `warmUp(), or shutdown() first.`
  );
}

function tell(line: string): void {
  if (current && current.pipe.writableLength > stuckBytes) {
    const stuck = current.process;
    current = undefined;
    signal(stuck, 'SIGKILL');
  }
  if (current) {
    const { process: reaper, pipe } = current;
    resume(reaper);
    pipe.write(line);
  } else if (watched.size > 0) startReaper();
}

/**
 * A reaper may have been stopped by a child: it is let go on (SIGCONT does nothing to one that runs).
 * Windows has no SIGCONT (Node throws on a signal it does not know), and nothing stops a process there.
 */
function resume(reaper: ChildProcess): void {
  if (process.platform !== 'win32') signal(reaper, 'SIGCONT');
}

/**
 * Not `reaper.kill()`: where this process may not signal it (it dropped its privileges after starting
 * it: EPERM), Node emits that as the reaper's 'error', which its listener takes for lost once (in the
 * middle of a write, with a SIGCONT), and which ends this process the next time, no listener left.
 */
function signal(reaper: ChildProcess, name: NodeJS.Signals): void {
  if (reaper.pid === undefined || reaper.exitCode !== null || reaper.signalCode !== null) return;
  try {
    process.kill(reaper.pid, name);
  } catch {
    // Gone meanwhile (its exit replaces it), or out of reach: it reads its pipe all the same.
  }
}

function startReaper(): void {
  let reaper: ChildProcess;
  try {
    // The children already watched are its arguments, not a first write on the pipe: this process
    // may die between the fork and that write, and the reaper must know them all the same.
    const [command, args] = reaperCommand([...watched].map(String));
    reaper = spawn(command, args, {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
      // Nothing of this process's environment: no NODE_OPTIONS loader, no inspector.
      env: {},
    });
  } catch {
    return; // Out of processes: the children still exit with their IPC channel.
  }
  if (reaper.pid === undefined || !reaper.stdin) {
    // Not started (out of descriptors, EMFILE): no pipe, and Node emits the error a tick later,
    // which must not go unheard. Tried again in a second, as one that dies at once is.
    reaper.on('error', () => {});
    setTimeout(() => current === undefined && watched.size > 0 && startReaper(), 1_000).unref();
    return;
  }
  const pipe = reaper.stdin;
  const started = { process: reaper, pipe };
  current = started;
  // This process ending on its own closes the pipe: a reaper a child stopped is let go on, to act on it.
  if (!resumesAtExit) {
    resumesAtExit = true;
    process.once('exit', () => current && resume(current.process));
  }
  // A reaper that dies (a child may signal it: it is a process of the same user) is replaced at once.
  const startedAt = wallNow();
  const lost = (): void => {
    if (current !== started) return;
    current = undefined;
    if (watched.size === 0) return;
    // One that could not even start (out of processes?) is tried again a second later, not in a loop.
    if (wallNow() - startedAt >= 1_000) startReaper();
    else setTimeout(() => current === undefined && watched.size > 0 && startReaper(), 1_000).unref();
  };
  reaper.once('error', lost);
  reaper.once('exit', lost);
  pipe.on('error', lost);
  reaper.unref();
  (pipe as Writable & { unref?: () => void }).unref?.();
  checkEverySecond();
}
let resumesAtExit = false;

/**
 * A child may stop the reaper (SIGSTOP) at any time, not only just before this process is killed:
 * while no child starts or ends, no line would let it go on. It is looked at each second while
 * children are watched: let go on when stopped, and replaced when found stopped again (a child that
 * stops it after each SIGCONT). Linux shows the state in /proc; elsewhere it is let go on anyway.
 */
function checkEverySecond(): void {
  if (checking || process.platform === 'win32') return;
  let stoppedBefore = false;
  checking = setInterval(() => {
    if (!current) {
      clearInterval(checking);
      checking = undefined;
      return;
    }
    const stopped = isStopped(current.process.pid);
    if (stopped && stoppedBefore) {
      const stuck = current.process;
      current = undefined;
      signal(stuck, 'SIGKILL');
      startReaper();
      stoppedBefore = false;
      return;
    }
    stoppedBefore = stopped === true;
    if (stopped !== false) resume(current.process);
  }, 1_000).unref();
}
let checking: NodeJS.Timeout | undefined;

/** Whether a process is stopped (state T or t in /proc), or undefined where that cannot be read. */
function isStopped(pid: number | undefined): boolean | undefined {
  const state = procState(pid);
  return state === undefined ? undefined : state === 'T' || state === 't';
}
