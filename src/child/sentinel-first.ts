import { basename } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { nodeOptionsAfter, nodeOptionsFlags } from '../node-flags.js';
import { lifelineVariable } from '../protocol.js';
import { startEarlySentinel } from './early-sentinel.js';
import { memoryUsageWithoutProc } from './memory-without-proc.js';
import { parentIsNamespaceInit, sentinelLifeline } from './orphan-sentinel.js';

/**
 * The first code a child runs: a `--require` that the parent puts before every preload of the
 * pool's (pool/local/child-fork.ts: first in `execArgv`, or in NODE_OPTIONS when that has a
 * `--require`, which Node runs before the command line's), bundled as CommonJS
 * (`dist/child/sentinel-first.cjs`), since Node runs every `--require` before any `--import`, and
 * both before the child's entry. It starts
 * the child's sentinel (orphan-sentinel.ts) before any code of the pool's flags runs: a `--require`
 * or `--import` in its `execArgv` (a loader, tsx, a preload), which may loop, wait for ever on a
 * loader thread, or take seconds. The runner started it after them, and a child stuck in one of
 * them outlived a parent killed with SIGKILL, spinning, for ever (orphans.test.ts has one).
 *
 * Only the start is here: the runner, once loaded, takes over the rest (the watchdog thread where
 * the sentinel fails or ends, orphan-watchdog.ts).
 */
// Node runs a `--require` in every worker thread too (the watchdog's among them): nothing to do there.
// A parent that is PID 1 gets a thread instead (orphan-watchdog.ts), which the runner starts.
// Nor in a sandboxed child (under the permission model): the runner tries its sentinel there, as it
// always has (the model denies the spawn, and the parent's reaper stands in).
const lifeline =
  isMainThread && process.permission === undefined && !parentIsNamespaceInit() ? sentinelLifeline() : undefined;
if (lifeline !== undefined) {
  startEarlySentinel(lifeline);
  // Not seen by that code, nor by a process it forks: that one inherits this `--require`, and must
  // not take whatever its own descriptor 6 is for a lifeline.
  delete process.env[lifelineVariable];
}
// Before tinypool's entry binds it.
memoryUsageWithoutProc();
// Out of the child's flags again: its code sees the flags its pool was given (process.execArgv,
// NODE_OPTIONS), and what it forks or starts does not load this file.
const isThisFile = (path: string | undefined) => path !== undefined && basename(path) === 'sentinel-first.cjs';
const at = process.execArgv.findIndex((flag, index) => flag === '--require' && isThisFile(process.execArgv[index + 1]));
if (at >= 0) process.execArgv.splice(at, 2);
const nodeOptions = process.env['NODE_OPTIONS'] ?? '';
const [first, second] = nodeOptionsFlags(nodeOptions);
if (first === '--require' && isThisFile(second)) process.env['NODE_OPTIONS'] = nodeOptionsAfter(nodeOptions, 2);
