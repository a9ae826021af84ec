import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { wallNow } from '../../shared/real-clock.js';

/**
 * Whether a process limit is why a child did not start, as a sentence for its error ('' where no
 * limit is near). A Node process starts about ten threads as it boots, and each counts against
 * the user's `ulimit -u` (RLIMIT_NPROC: processes and threads of the user) and against the
 * cgroup's `pids.max` (a container's `--pids-limit`, a Kubernetes pod's pid limit). A child that
 * cannot start one of them aborts, or hangs before it runs any JavaScript (Node's platform waits
 * for a thread that never came): the pool saw only a child not ready within `startTimeout`, and
 * said a module of its flags may never finish loading. Read when a child failed to start, never
 * on a call's path: counting the user's threads reads every process's status.
 */
export function processLimitHint(): string {
  // Read at most once a second: each call that went with a failed child gets an error of its own,
  // and a pool whose children keep failing to start fails each call.
  const now = wallNow();
  if (last && now - last.at < 1_000) return last.hint;
  let hint: string;
  try {
    hint = cgroupLimit() || userLimit();
  } catch {
    hint = ''; // No /proc, or a kernel that words these files otherwise: the message goes without it.
  }
  last = { at: now, hint };
  return hint;
}

let last: { at: number; hint: string } | undefined;

/** What a child takes as it boots: its threads, and its sentinel (a shell) beside it. */
const tasksPerChild = 12;

const fix = "Lower the pool's size (configure()), or raise the limit.";

/** The user's RLIMIT_NPROC, which binds any user but root (the kernel exempts uid 0 of the first namespace). */
function userLimit(): string {
  const uid = process.getuid?.();
  if (uid === undefined || uid === 0) return '';
  const limit = readFileSync('/proc/self/limits', 'utf8').match(/^Max processes\s+(\d+)/m)?.[1];
  if (limit === undefined) return ''; // unlimited
  const used = tasksOfUser(uid);
  if (Number(limit) - used >= tasksPerChild) return '';
  return (
    ` The process limit may be why: this user (uid ${uid}) runs ${used} processes and threads of the ${limit} ` +
    `that its \`ulimit -u\` allows, and a Node child starts about ten as it boots (one that cannot start them ` +
    `aborts, or hangs before it runs any code). ${fix}`
  );
}

/** How many tasks (threads) the kernel counts against the user: those whose real uid is theirs. */
function tasksOfUser(uid: number): number {
  let tasks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${entry}/status`, 'utf8');
    } catch {
      continue; // Gone since the listing.
    }
    if (Number(status.match(/^Uid:\s+(\d+)/m)?.[1]) !== uid) continue;
    tasks += Number(status.match(/^Threads:\s+(\d+)/m)?.[1] ?? 1);
  }
  return tasks;
}

/**
 * The first cgroup, from this process's own up to the hierarchy's root, whose `pids.max` leaves
 * fewer tasks than a child needs. Both cgroup versions:
 * v2's single hierarchy (`0::/path`), v1's `pids` controller (`N:pids:/path`).
 */
function cgroupLimit(): string {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.match(/^\d+:([^:]*):(\/.*)$/) ?? [];
    if (path === undefined) continue;
    const root =
      controllers === '' ? cgroupV2Root() : controllers?.split(',').includes('pids') ? '/sys/fs/cgroup/pids' : '';
    if (root === '') continue;
    for (let dir = `${root}${path === '/' ? '' : path}`; dir.startsWith(root); dir = dirname(dir)) {
      const said = pidsLimitOf(dir, dir.slice(root.length) || '/');
      if (said) return said;
      if (dir === root) break;
    }
  }
  return '';
}

/** Where the unified hierarchy is mounted: /sys/fs/cgroup itself, or beside v1's controllers. */
function cgroupV2Root(): string {
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    try {
      readFileSync(`${root}/cgroup.controllers`);
      return root;
    } catch {}
  }
  return '';
}

function pidsLimitOf(dir: string, name: string): string {
  let max: string;
  try {
    max = readFileSync(`${dir}/pids.max`, 'utf8').trim();
  } catch {
    return ''; // The root cgroup has no limit; a cgroup without the controller neither.
  }
  if (max === 'max') return '';
  const current = Number(readFileSync(`${dir}/pids.current`, 'utf8').trim());
  const refused = Number(readFileSync(`${dir}/pids.events`, 'utf8').match(/^max\s+(\d+)/m)?.[1] ?? 0);
  // Not by its refusals alone: pids.events counts them over the cgroup's life.
  if (Number(max) - current >= tasksPerChild) return '';
  const told = refused > 0 ? `, has refused ${refused} new ones (pids.events)` : '';
  return (
    ` The process limit may be why: the cgroup ${name} allows ${max} processes and threads (pids.max: a ` +
    `container's pid limit), holds ${current}${told}, and a Node child starts about ten as it boots (one that ` +
    `cannot start them aborts, or hangs before it runs any code). ${fix}`
  );
}
