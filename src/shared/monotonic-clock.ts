import { unfakedAs } from './real-clock.js';

/**
 * The machine's monotonic clock, in ms: the one clock a child and its parent read alike
 * (`process.hrtime`; each process's `performance.timeOrigin` is its own reading of the wall clock,
 * which a clock step or a suspend between two processes' starts sets apart). A child times its calls
 * on it (child/call-runner.ts), and the parent places those times on its own `performance.now()`
 * (pool/pending-call.ts).
 *
 * Read as this module loads, before a call's code can replace `process.hrtime` (a fake clock in its
 * tests, say); one that fake timers replaced before is seen through (real-clock.ts).
 */
const hrtime = unfakedAs(process.hrtime, 'hrtime').bigint;

export function monotonicMs(): number {
  return Number(hrtime()) / 1e6;
}
