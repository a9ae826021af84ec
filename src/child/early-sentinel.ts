import { startSentinel } from './orphan-sentinel.js';

/**
 * The hand-over between the two bundles of a child: sentinel-first.ts (its first `--require`) starts
 * the sentinel before any preload of the pool's; the runner, loaded later, learns here whether it
 * did, and is told if that sentinel fails or ends (orphan-watchdog.ts then starts the thread).
 * Whether it has failed, and who is told when it does, is kept on the global object, which the two
 * bundles of the child share (each has its own copy of this module).
 */
type EarlySentinel = { failed: boolean; onFailed?: () => void };
const earlyKey = Symbol.for('run-in-process.early-sentinel');

/** Starts the sentinel before the runner is loaded (sentinel-first.ts). */
export function startEarlySentinel(fd: number): void {
  const early: EarlySentinel = { failed: false };
  (globalThis as Record<symbol, unknown>)[earlyKey] = early;
  startSentinel(fd, () => {
    if (early.failed) return;
    early.failed = true;
    early.onFailed?.();
  });
}

/**
 * Whether sentinel-first.ts started this child's sentinel; if so, `failed` runs once it cannot
 * start or ends while this child lives (at once if that has happened already).
 */
export function earlySentinelStarted(failed: () => void): boolean {
  const early = (globalThis as Record<symbol, EarlySentinel | undefined>)[earlyKey];
  if (early === undefined) return false;
  delete (globalThis as Record<symbol, unknown>)[earlyKey];
  if (early.failed) failed();
  else early.onFailed = failed;
  return true;
}
