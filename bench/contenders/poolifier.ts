import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { FixedClusterPool, FixedThreadPool } from 'poolifier';
import type { Contender, Op } from './contender.js';

const clusterChild = fileURLToPath(new URL('./poolifier-cluster-child.cjs', import.meta.url));
const threadChild = fileURLToPath(new URL('./poolifier-thread-child.cjs', import.meta.url));

/**
 * poolifier's process pool (node:cluster workers), with its defaults otherwise: no task queue, so a
 * task goes straight to the least used worker and waits in that worker's pipe, as with the raw limit.
 */
export const poolifierCluster: Contender = {
  id: 'poolifier-cluster',
  label: 'poolifier cluster (process)',
  async start({ size }) {
    // The same wire format as the other process pools; node:cluster's default is JSON.
    const pool = new FixedClusterPool(size, clusterChild, { settings: { serialization: 'advanced' } });
    return {
      call: (op: Op, arg: unknown) => pool.execute(arg, op),
      close: () => destroy(pool),
    };
  },
};

/**
 * `destroy()` of poolifier 5.3.2 sometimes never settles (seen with the thread pool, more often
 * pinned to one CPU), though its workers are gone: the process then ran out of work with the
 * harness's await still pending (exit code 13). Give it a second, then go on.
 */
async function destroy(pool: { destroy(): Promise<void> }): Promise<void> {
  const timer = new AbortController();
  await Promise.race([pool.destroy(), sleep(1_000, undefined, { signal: timer.signal }).catch(() => {})]);
  timer.abort();
}

/** Reference point only, beside piscina: worker threads, no process boundary. */
export const poolifierThreads: Contender = {
  id: 'poolifier-thread',
  label: 'poolifier (threads)',
  async start({ size }) {
    const pool = new FixedThreadPool(size, threadChild);
    return {
      call: (op: Op, arg: unknown) => pool.execute(arg, op),
      close: () => destroy(pool),
    };
  },
};
