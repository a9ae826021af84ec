import { type ChildProcess, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { modelFlags } from './sandbox.js';

/**
 * Stops the children of sandboxed pools when this process dies, however it dies, SIGKILL included.
 * Those children cannot watch for it themselves: a child's watchdog is a thread
 * (child/orphan-watchdog.ts), which the permission model denies, and which on Node 22 and later
 * escapes the model when allowed (nodejs/node#62222), nor start the sentinel process that each
 * child of another pool starts (child/orphan-sentinel.ts, on the same principle as this reaper).
 *
 * So the parent starts one small process of its own, with the first such child: the reaper. It
 * reads the pids of the children to watch from a pipe whose write end only this process holds. The
 * kernel closes that end when this process ends, whatever ends it; the reaper then kills each
 * listed child's process group (each child leads one: child-fork.ts), and exits. It runs in a
 * session of its own, so that a Ctrl-C or a kill of this process's group does not end it first.
 * It lives while there are children to watch (and two seconds more), never keeps this process
 * alive, and what goes wrong with it never reaches this process. A reaper that dies is replaced at
 * once, and the new one told of every child still watched. A child can kill it (a process of the
 * same user can signal another); it can then outlive this process only if this process dies in
 * the moment before the replacement starts.
 *
 * A child can also send it SIGUSR1, which opens the inspector of a Node process that has not said
 * otherwise: anyone who can reach 127.0.0.1 (a sandboxed child below Node 25) could then run code
 * in it, outside the sandbox. So the reaper runs under the permission model itself (which keeps the
 * inspector shut; it needs no file, only its pipe and signals), with `--disable-sigusr1` where Node
 * has it, and a listener that ignores the signal.
 */
const reaperScript = `
process.on('SIGUSR1', () => {});
const pids = new Set(process.argv.slice(1).map(Number));
let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (pending + chunk).split('\\n');
  pending = lines.pop();
  for (const line of lines) line[0] === '+' ? pids.add(Number(line.slice(1))) : pids.delete(Number(line.slice(1)));
});
process.stdin.on('close', () => {
  for (const pid of pids) {
    try { process.kill(-pid, 'SIGKILL'); } catch { try { process.kill(pid, 'SIGKILL'); } catch {} }
  }
  process.exit(0);
});`;

/** The children being watched, so that a reaper that had to be replaced learns them all. */
const watched = new Set<number>();
let input: Writable | undefined;

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

function retire(): void {
  if (watched.size > 0) return;
  const pipe = input;
  input = undefined;
  pipe?.end();
}

function tell(line: string): void {
  if (input) input.write(line);
  else if (watched.size > 0) startReaper();
}

function reaperFlags(): string[] {
  const sigusr1 = process.allowedNodeEnvironmentFlags.has('--disable-sigusr1') ? ['--disable-sigusr1'] : [];
  return [...modelFlags(), ...sigusr1];
}

function startReaper(): void {
  let reaper: ChildProcess;
  try {
    // The children already watched are its arguments, not a first write on the pipe: this process
    // may die between the fork and that write, and the reaper must know them all the same.
    reaper = spawn(process.execPath, [...reaperFlags(), '-e', reaperScript, ...[...watched].map(String)], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
      // Nothing of this process's environment: no NODE_OPTIONS loader, no inspector.
      env: {},
    });
  } catch {
    return; // Out of processes: the children still exit with their IPC channel.
  }
  const pipe = reaper.stdin!;
  input = pipe;
  // A reaper that dies (a child may signal it: it is a process of the same user) is replaced at once.
  const startedAt = Date.now();
  const lost = (): void => {
    if (input !== pipe) return;
    input = undefined;
    if (watched.size === 0) return;
    // One that could not even start (out of processes?) is tried again a second later, not in a loop.
    if (Date.now() - startedAt >= 1_000) startReaper();
    else setTimeout(() => input === undefined && watched.size > 0 && startReaper(), 1_000).unref();
  };
  reaper.once('error', lost);
  reaper.once('exit', lost);
  pipe.on('error', lost);
  reaper.unref();
  (pipe as Writable & { unref?: () => void }).unref?.();
}
