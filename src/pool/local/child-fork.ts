import childProcess, { type ChildProcess, type ForkOptions } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { existsSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { flagName, joinNodeOptions, nodeOptionsFlags } from '../../node-flags.js';
import { networkPermissionSince } from '../../options.js';
import {
  controlPipeFd,
  lifelineFd,
  lifelineVariable,
  noticePipeFd,
  pipesVariable,
  processGroupVariable,
} from '../../protocol.js';
import { libraryDir } from '../../shared/library-dir.js';
import { forwardOutput } from './child-output.js';
import { envFileNodeOptions } from './env-file-options.js';
import { NotStarted } from './refused-fork.js';
import { killThroughReaper } from './orphan-reaper.js';
import { stopWhenOutOfReach } from './out-of-reach.js';
import { queueMicrotask } from '../../shared/real-clock.js';
import { workingDirectory } from '../../shared/working-directory.js';

/**
 * Every child that tinypool forks for us passes through here, the moment it is forked, so that
 * nothing tinypool does later can miss one (in an isolated pool tinypool forks children that run
 * no task of ours, and that the transport never sees):
 * - it leads a process group of its own, so that what its code starts (a `spawn('sleep')`, a
 *   compiler) is stopped with it: when the child exits, however it exits, its group is killed (not
 *   what leaves the group: a detached process, as Puppeteer's browser is, or GNU timeout's command).
 *   POSIX only: Windows has no process groups, and there nothing the child starts is stopped;
 * - its output is passed on in a way that a closed stdout cannot turn into a crash of the parent
 *   (child-output.ts);
 * - it gets two pipes beside its IPC channel: for its answers, and for the parent's batch control,
 *   and a third, its lifeline, which tells its sentinel when this process is gone (protocol.ts).
 *
 * tinypool 2.2.0 forks its children itself, with no way to ask for `detached` (which makes the
 * child a session and group leader). So `fork` is wrapped, once, to act on forks whose environment
 * carries our marker, and on no other: the app's own forks are left as they are.
 */
const groups = process.platform !== 'win32';
/**
 * Children talk with the parent on pipes of their own beside the IPC channel (protocol.ts); not
 * tried on Windows, where everything goes on the IPC channel. `RUN_IN_PROCESS_IPC_ONLY=1` does that
 * here too: the tests run the Windows path that way, and it rules the pipes out when looking for a bug.
 */
const pipes = process.platform !== 'win32' && process.env.RUN_IN_PROCESS_IPC_ONLY !== '1';

/**
 * Who is told of each child forked for a pool, by the marker's id. Kept on the wrapper, which every
 * copy of the library in the process shares (the first copy installs it).
 */
const listenersKey = Symbol.for('run-in-process.fork-listeners');
type Wrapped = typeof childProcess.fork & { [listenersKey]?: Map<string, (child: ChildProcess) => void> };
let nextId = 1;

/**
 * The environment that marks a fork as one of a pool's: `onFork` hears of each such child the
 * moment it is forked. The marker (`g:<id>`, or `n:<id>` where there are no process groups) also
 * tells the child whether it leads a group. `forget` stops the listening.
 */
export function markedAsOurs(
  env: Record<string, string>,
  onFork: (child: ChildProcess) => void,
): { env: Record<string, string>; forget: () => void } {
  const listeners = installForkHook();
  const id = `${process.pid}.${nextId++}.${Math.random().toString(36).slice(2)}`;
  listeners.set(id, onFork);
  return { env: { ...env, [processGroupVariable]: `${groups ? 'g' : 'n'}:${id}` }, forget: () => listeners.delete(id) };
}

function installForkHook(): Map<string, (child: ChildProcess) => void> {
  const installed = (childProcess.fork as Wrapped)[listenersKey];
  if (installed) return installed;
  const original = childProcess.fork;
  const listeners = new Map<string, (child: ChildProcess) => void>();
  const fork = function (this: unknown, modulePath: string | URL, ...rest: unknown[]): ChildProcess {
    // fork(path, args?, options?): tinypool passes `args` even when it is undefined.
    const optionsAt = Array.isArray(rest[0]) || rest[0] === undefined || rest[0] === null ? 1 : 0;
    const options = rest[optionsAt] as ForkOptions | undefined;
    const marker = options?.env?.[processGroupVariable];
    if (marker !== undefined && (groups || pipes)) {
      const control = controlPipeWorks(options);
      const forkOptions: ForkOptions = {
        ...options,
        ...(groups ? { detached: true } : {}),
        // tinypool asks for 'pipe': the same, and the notice and control pipes after the IPC channel,
        // then the lifeline (protocol.ts).
        ...(pipes
          ? {
              stdio: ['pipe', 'pipe', 'pipe', 'ipc', 'pipe', control ? 'pipe' : 'ignore', 'pipe'],
              env: {
                ...options?.env,
                [pipesVariable]: control ? `${noticePipeFd},${controlPipeFd}` : `${noticePipeFd}`,
                [lifelineVariable]: String(lifelineFd),
              },
            }
          : {}),
      };
      rest[optionsAt] = groups && pipes && canRequireFirst() ? sentinelFirst(forkOptions) : forkOptions;
    }
    let child: ChildProcess;
    try {
      child = (original as (...args: unknown[]) => ChildProcess).call(this, modulePath, ...rest);
    } catch (error) {
      if (marker === undefined) throw error;
      return new NotStarted(undefined, error) as unknown as ChildProcess;
    }
    if (marker !== undefined) {
      if (child.pid === undefined) return new NotStarted(child) as unknown as ChildProcess;
      adopt(child);
      listeners.get(marker.slice(2))?.(child);
    }
    return child;
  };
  (fork as Wrapped)[listenersKey] = listeners;
  childProcess.fork = fork as typeof childProcess.fork;
  // tinypool imports `fork` as an ES module binding: this makes that binding see the wrapper.
  syncBuiltinESMExports();
  return listeners;
}

/**
 * A child reads its control pipe as a socket (child/control-pipe.ts), which Node's permission model
 * counts as the network from Node 25: under `--permission` without `--allow-net` the child could
 * not open it, whether the pool asks for the model or the parent runs under it. Such a child gets no control pipe, and batch control goes on its IPC channel.
 */
function controlPipeWorks(options: ForkOptions | undefined): boolean {
  if (Number(process.versions.node.split('.')[0]) < networkPermissionSince) return true;
  // A parent under the model passes it on to what it forks (NODE_OPTIONS that Node sets itself,
  // whatever `execArgv` and `env` the pool gives): without the network, so do its children.
  const permission = (process as { permission?: { has(scope: string): boolean } }).permission;
  if (permission && !permission.has('net')) return false;
  // A model this does not see (a config file) costs nothing worse than control on the IPC channel:
  // the child says it could not open the pipe.
  const flags = childFlags(options);
  return !asksForModel(flags) || flags.includes('--allow-net');
}

/** The Node flags a fork gives its child, named as Node reads them (quotes, `_` for `-`). */
function childFlags(options: ForkOptions | undefined): string[] {
  return [...(options?.execArgv ?? []), ...nodeOptionsFlags(options?.env?.NODE_OPTIONS)].map(flagName);
}

function asksForModel(flags: string[]): boolean {
  return flags.includes('--permission') || flags.includes('--experimental-permission');
}

/**
 * The child's first `--require` (child/sentinel-first.ts): its sentinel starts before any code of
 * the pool's own flags, and where there is no /proc its `process.memoryUsage()` works. A sandboxed
 * child runs it too (it may read the library's files), but starts no sentinel there. Not for the
 * children of a parent under the permission model, whose rights to that file are not known here;
 * nor where the file is missing (a build without it): the runner then starts the sentinel itself,
 * after those flags, as it did before.
 */
const sentinelFirstFile = join(libraryDir, 'child', 'sentinel-first.cjs');
let sentinelFirstExists: boolean | undefined;

function canRequireFirst(): boolean {
  sentinelFirstExists ??= existsSync(sentinelFirstFile);
  return sentinelFirstExists && process.permission === undefined;
}

/**
 * The fork's options that put sentinel-first.cjs before every other preload: first in `execArgv`,
 * or first in `NODE_OPTIONS` when that has a `--require` of its own, which Node runs before the
 * command line's (an `--import` there runs after every `--require`); NODE_OPTIONS from an env file
 * included, which the environment's then replaces, with the file's flags after this one. (One that
 * Node 24 reads from a config file, `--experimental-config-file`, is not looked at.)
 */
function sentinelFirst(options: ForkOptions): ForkOptions {
  const execArgv = options.execArgv ?? process.execArgv;
  const nodeOptions =
    options.env?.NODE_OPTIONS ?? envFileNodeOptions(execArgv, () => String(options.cwd ?? workingDirectory() ?? '.'));
  const required = nodeOptionsFlags(nodeOptions).some((flag) => ['--require', '-r'].includes(flagName(flag)));
  const first = ['--require', sentinelFirstFile];
  if (!required) return { ...options, execArgv: [...first, ...execArgv] };
  // The child takes it out of its NODE_OPTIONS again, so that the processes its code starts do not
  // inherit it.
  return { ...options, env: { ...options.env, NODE_OPTIONS: `${joinNodeOptions(first)} ${nodeOptions}` } };
}

function adopt(child: ChildProcess): void {
  firstToGoWhenMemoryRunsOut(child.pid);
  // tinypool pipes the child's output into ours right after fork() returns, in the same turn.
  queueMicrotask(() => forwardOutput(child));
  // The parent's end of the lifeline is held, never written to: it must not keep this process alive,
  // nor let an error (the child writing into it, then dying) reach the app. Half-open: code in the
  // child that ends its own side must not make Node end this one in reply, which the sentinel would
  // read as the parent gone (a hostile review did it). Closed once the child has exited (its sentinel
  // then ends, if the group's kill has not ended it yet): the child's 'close', which waits for every
  // pipe, must not wait for one that keeps nothing alive to be read.
  const lifeline = (child.stdio as unknown[])[lifelineFd] as Socket | null | undefined;
  if (lifeline) {
    lifeline.allowHalfOpen = true;
    lifeline.unref();
    lifeline.on('error', () => {});
    child.once('exit', () => lifeline.destroy());
  }
  if (groups) child.once('exit', () => killGroupOf(child));
  stopWhenOutOfReach(child, lifeline ?? undefined);
}

/**
 * When memory runs out under a limit (a container's cgroup, or the machine's), Linux ends the
 * process with the highest score: by default the one that uses the most, which may be this one, an
 * app holding its caches, while a child's call is what blew the limit (a review's: the parent was
 * killed). A child, and what it starts (which inherits the score), is marked as the first to go: the
 * pool replaces it, and its call fails as crashed. Raising a score needs no privilege; where it
 * cannot be written (no /proc, another user's process), the child is left as it is.
 */
function firstToGoWhenMemoryRunsOut(pid: number | undefined): void {
  if (pid === undefined || process.platform !== 'linux') return;
  try {
    writeFileSync(`/proc/${pid}/oom_score_adj`, '1000');
  } catch {
    // As it was.
  }
}

/** Kills what is left of a child's group once the child has exited (ESRCH: nothing was left). */
function killGroupOf(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch (error) {
    // EPERM: it runs as the user this process was before a setuid; a sandboxed pool's reaper, started
    // before, may still kill it (another child's group is killed by its sentinel, as the lifeline closes).
    if ((error as NodeJS.ErrnoException).code === 'EPERM') killThroughReaper(child.pid);
  }
}
