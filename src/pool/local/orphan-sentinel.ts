import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';

/**
 * A child must not outlive this process, even one killed with SIGKILL, and even while the child's
 * main thread is stuck in a CPU loop (or the child is stopped) and cannot run any handler. On
 * POSIX, each child of a pool that is not sandboxed (those have the orphan reaper,
 * orphan-reaper.ts) is watched by a sentinel: a `/bin/sh` that runs only its builtins (`read`,
 * `kill`), about 1 MiB. Its stdin is a pipe whose write end only this process holds, and on which
 * nothing is ever written; the kernel closes that end when this process ends, however it ends, and
 * the sentinel then kills the child's process group (the child leads one: child-fork.ts).
 *
 * It took the place of a watchdog thread inside each child (child/orphan-watchdog.ts, still used on
 * Windows and where there is no `/bin/sh`): measured, that thread cost each child ~9 MiB and a
 * thread's boot beside its first call, ~8 ms of a cold start on two CPUs (bench/analysis.md,
 * eleventh pass). The sentinel's start (a fork and exec, ~1.5 ms) is paid here, while this process
 * waits for the child to boot anyway.
 *
 * - It runs in a session of its own, so that a Ctrl-C or a kill of this process's group does not
 *   end it before this process has gone.
 * - When the child exits, this process kills the child's group (child-fork.ts), then the sentinel,
 *   so none is left behind. Should this process die in between, the sentinel would find the child
 *   gone: on Linux it checks that the process is still the child it was started for (its start
 *   time in `/proc`) before it kills, so a number given to another process since is never hit.
 * - A sentinel that dies while its child lives (a child's code can signal any process of the user)
 *   is replaced: at once, or a second after the one before it started, whichever is later. Code
 *   that stops it (SIGSTOP), or keeps killing it, can outlive this process; it could as well start
 *   a process of its own that does.
 */
const script = `read _
if [ -n "$2" ]; then
  IFS= read -r stat < "/proc/$1/stat" || exit 0
  set -- "$1" "$2" \${stat##*) }
  [ "\${22}" = "$2" ] || exit 0
fi
kill -s KILL -- "-$1"`;

const shell = '/bin/sh';
let shellWorks: boolean | undefined;

/** Whether children can be watched by sentinels here: POSIX, with an executable `/bin/sh`. */
export function sentinelsWork(): boolean {
  if (shellWorks === undefined) {
    try {
      accessSync(shell, constants.X_OK);
      shellWorks = process.platform !== 'win32';
    } catch {
      shellWorks = false;
    }
  }
  return shellWorks;
}

/**
 * Has `child` and its process group killed if this process dies before the child exits. Settles
 * once the child has exited and its sentinel with it (shutdown() waits for both).
 */
export function guardWithSentinel(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return Promise.resolve();
  const started = startTimeOf(pid);
  let sentinel: ChildProcess | undefined;
  let sentinelExited = Promise.resolve();
  let lastStart = 0;
  let replacing: NodeJS.Timeout | undefined;
  let childExited = false;
  const start = (): void => {
    lastStart = Date.now();
    const mine = spawn(shell, ['-c', script, 'sentinel', String(pid), started], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
      env: {},
    });
    sentinel = mine;
    mine.unref();
    (mine.stdin as { unref?: () => void } | null)?.unref?.();
    // What goes wrong with a sentinel (EAGAIN, a pipe error) never reaches the app; the child then
    // still ends with this process if it is idle (its IPC channel closes).
    mine.stdin?.on('error', () => {});
    sentinelExited = new Promise((resolve) => {
      mine.once('close', () => resolve());
      mine.on('error', () => resolve());
    });
    mine.once('exit', () => {
      if (childExited || mine !== sentinel) return;
      replacing = setTimeout(start, Math.max(0, lastStart + 1000 - Date.now())).unref();
    });
  };
  start();
  return new Promise((resolve) => {
    child.once('exit', () => {
      childExited = true;
      clearTimeout(replacing);
      sentinel?.kill('SIGKILL');
      sentinel?.stdin?.destroy();
      void sentinelExited.then(resolve);
    });
  });
}

/**
 * The child's start time, in clock ticks since boot (field 22 of `/proc/<pid>/stat`), where there
 * is a `/proc`; empty elsewhere, and the sentinel then kills without checking.
 */
function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}
