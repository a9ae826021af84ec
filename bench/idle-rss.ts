import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Contender, StartOptions } from './contenders/contender.js';

/** The resident memory of one kind of child, idle after its first call (or, for the bare child, after it is up). */
export interface IdleRss {
  readonly contender: string;
  /** VmRSS of each of its children, bytes. */
  readonly rss: readonly number[];
}

export const bareNodeId = 'bare-node';
export const bareNodeLabel = 'bare node child (fork, waits on its IPC channel)';
const idleChild = fileURLToPath(new URL('./contenders/idle-child.js', import.meta.url));
/** Long enough for a child's start-up garbage to be collected or left, short enough not to slow the run. */
const idleMs = 500;

/** The pids whose parent is this process, from /proc (Linux only; elsewhere none). */
function childPids(): Set<number> {
  const pids = new Set<number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return pids;
  }
  for (const e of entries) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: state, ppid, …
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) pids.add(Number(e));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

function vmRss(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * A bare forked node child against the children of each pool given, each measured on a fresh
 * pool that has answered one call and then sat idle for half a second. The pools' children are
 * told apart as the children of this process that were not there before the pool started.
 */
export async function measureIdleRss(contenders: readonly Contender[], options: StartOptions): Promise<IdleRss[]> {
  if (childPids().size === 0 && vmRss(process.pid) === undefined) return [];
  const out: IdleRss[] = [];
  const bare = fork(idleChild, [], { serialization: 'advanced' });
  await once(bare, 'message');
  await sleep(idleMs);
  out.push({ contender: bareNodeId, rss: [vmRss(bare.pid!) ?? 0] });
  const exited = once(bare, 'exit');
  bare.disconnect();
  await exited;
  for (const contender of contenders) {
    await contender.prepareCold?.();
    const before = childPids();
    const session = await contender.start(options);
    await session.call('tiny', 1);
    await sleep(idleMs);
    const rss = [...childPids()]
      .filter((pid) => !before.has(pid))
      .map(vmRss)
      .filter((r): r is number => r !== undefined);
    await session.close();
    if (rss.length > 0) out.push({ contender: contender.id, rss });
  }
  return out;
}
