import { optionError, usageError } from '../errors.js';
import type { PoolOptions } from '../options.js';
import { warnOnce } from '../shared/warn-once.js';
import { InlineTransport } from './inline-transport.js';
import { refuseUnderPlugAndPlay } from './local/plug-and-play.js';
import { refuseInSingleExecutable } from './local/single-executable.js';
import { TinypoolTransport } from './local/tinypool-transport.js';
import { Scheduler } from './scheduler.js';
import { resolveSettings } from './settings.js';
import { closePoolsAtThreadEnd, reaperGoneInThread } from './thread-end.js';
import { CallStats, type PoolStats } from './call-stats.js';
import type { TransportFactory, TransportProvider } from './transport.js';

/**
 * The running pools, by name: loaded on a parent's first call (call/pools.ts). Each starts its
 * workers lazily, with the options it has when it starts. Reconfiguring a pool drains its
 * scheduler: calls in flight finish on the old workers while new calls start new ones.
 */

interface Live {
  current: Scheduler | undefined;
  /** Schedulers finishing their calls after a configure() or a shutdown(). */
  readonly draining: Set<Scheduler>;
  /**
   * What the pool's calls came to since it started: shared by the schedulers a configure() or a
   * broken pool replaces, so that stats() does not forget them; a shutdown() starts it anew.
   */
  stats: CallStats | undefined;
}

const live = new Map<string, Live>();

function liveFor(name: string): Live {
  let pool = live.get(name);
  if (!pool) live.set(name, (pool = { current: undefined, draining: new Set(), stats: undefined }));
  return pool;
}

/** The scheduler a call goes to, started if needed. */
export function scheduler(name: string, options: PoolOptions): Scheduler {
  const pool = liveFor(name);
  if (pool.current) return pool.current;
  const settings = resolveSettings(name, options);
  const stats = (pool.stats ??= new CallStats(settings.recordTiming));
  stats.recordTimes(settings.recordTiming);
  const scheduler = new Scheduler(
    settings,
    transportFor(settings),
    () => {
      if (pool.current === scheduler) pool.current = undefined;
      // Closing already (it destroys its transport): shutdown() waits for it, as for one configure() replaced.
      pool.draining.add(scheduler);
      void scheduler.close(Number.POSITIVE_INFINITY).finally(() => pool.draining.delete(scheduler));
    },
    stats,
  );
  pool.current = scheduler;
  return scheduler;
}

/**
 * A call refused before it reached its pool (arguments that cannot cross, a method called on the
 * wrong object: call/call.ts): a call that failed all the same, counted with the pool's, started or not.
 */
export function countRefused(name: string): void {
  const pool = liveFor(name);
  // Timing is the pool's setting, set when it starts (scheduler()): a refused call has no times.
  (pool.stats ??= new CallStats(false)).settled('failed');
}

/**
 * Moves the running scheduler aside: it finishes its calls in flight, then stops its workers.
 * `replacedWith`: the options the pool was configured with again; its calls that wait for a worker
 * go to a new scheduler, made with them.
 */
export function drain(name: string, replacedWith?: PoolOptions): void {
  const pool = live.get(name);
  const current = pool?.current;
  if (!pool || !current) return;
  pool.current = undefined;
  pool.draining.add(current);
  // Configured again: the calls that wait for a worker go to the new pool's (no shutdown drains here).
  const waiting = replacedWith ? current.handOver() : [];
  if (waiting.length > 0) {
    try {
      scheduler(name, replacedWith!).adopt(waiting);
    } catch {
      // The new options cannot make a pool (an environment they cannot run in): the calls stay where
      // they were, and the next call meets the error, as it would have.
      current.adopt(waiting);
    }
  }
  void current.close(Number.POSITIVE_INFINITY).finally(() => pool.draining.delete(current));
}

/**
 * Gives the running scheduler the limits a configure() changed without changing its children
 * (call/same-options.ts): its `maxQueue` from now on. (A pool's `timeout` is read as each call is made.)
 * Schedulers draining after an earlier configure() keep theirs: no new call reaches them.
 */
export function retune(name: string, options: PoolOptions): void {
  live.get(name)?.current?.retune(options.maxQueue);
}

/**
 * The pool's stats, or nothing if it has not started: its running scheduler's children, and the
 * calls of the schedulers still draining too. While a shutdown() drains a pool that no call has
 * started again, the closing pool's own: its counts, children and calls, until it has closed.
 */
export function statsOf(name: string): PoolStats | undefined {
  const pool = live.get(name);
  if (!pool) return undefined;
  // The last one moved aside: the one shutdown() closes (one an earlier configure() moved aside may drain still).
  const closing = [...pool.draining].at(-1);
  const base = pool.current ?? (pool.stats ? undefined : closing);
  if (!pool.stats && !base) return undefined;
  const own = base?.stats() ?? {
    ...(pool.stats as CallStats).counts(0, 0),
    children: { busy: 0, idle: 0, starting: 0, recycled: 0 },
  };
  // Only those that count in the same counters: schedulers a configure() moved aside, not the pool a
  // shutdown() closes once calls started the pool again (its calls' ends are not counted there).
  const counters = base?.counters ?? pool.stats;
  for (const old of pool.draining) {
    if (old === base || old.counters !== counters) continue;
    const { queued, running } = old.inFlight();
    own.queued += queued;
    own.running += running;
  }
  return own;
}

export async function closeAll(deadline: number): Promise<void> {
  const closing: Promise<void>[] = [];
  for (const [name, pool] of live) {
    drain(name);
    // A call made from now on starts the pool again, and counts afresh.
    pool.stats = undefined;
    for (const old of pool.draining) closing.push(old.close(deadline));
  }
  await Promise.all(closing);
  await reaperGoneInThread();
}

closePoolsAtThreadEnd(
  () => [...live.values()].some((pool) => pool.current !== undefined || pool.draining.size > 0),
  () => closeAll(0),
);

function transportFor(settings: ReturnType<typeof resolveSettings>): TransportFactory {
  const provider = settings.transport as TransportProvider | undefined;
  if (provider) return (events) => provider.createTransport(settings.name, events);
  // Inline, a sandboxed pool's code would run here, with all of this process's rights.
  if (settings.sandboxed && inlineRequested()) {
    throw usageError(
      `RUN_IN_PROCESS_INLINE is set, but pool '${settings.name}' is sandboxed (permissions): its calls never run ` +
        `in this process, outside the seat belt. Unset RUN_IN_PROCESS_INLINE, or configure the pool without ` +
        `permissions where you want inline calls (in tests, say).`,
    );
  }
  if (inlineMode()) return (events) => new InlineTransport(events);
  refuseInSingleExecutable(settings.name);
  refuseUnderPlugAndPlay(settings.name, settings.sandboxed);
  return (events) => new TinypoolTransport(settings, events);
}

function inlineRequested(): boolean {
  const flag = process.env['RUN_IN_PROCESS_INLINE']?.trim().toLowerCase();
  return !(flag === undefined || flag === '' || flag === '0' || flag === 'false');
}

/**
 * `RUN_IN_PROCESS_INLINE=1` (or `true`) runs calls in this process. Anything else that is not
 * empty, `0` or `false` is a mistake, not a silent yes: inline mode turns off isolation and timeouts.
 */
function inlineMode(): boolean {
  if (!inlineRequested()) return false;
  const flag = process.env['RUN_IN_PROCESS_INLINE']?.trim().toLowerCase();
  if (flag !== '1' && flag !== 'true') {
    throw optionError(
      `RUN_IN_PROCESS_INLINE is "${process.env['RUN_IN_PROCESS_INLINE']}": set it to 1 (or true) to run ` +
        `calls in this process, or to 0, false or nothing to run them in child processes.`,
    );
  }
  warnOnce(
    'RUN_IN_PROCESS_INLINE',
    'inline',
    () => 'RUN_IN_PROCESS_INLINE is set: calls run in this process, with no isolation from crashes and no timeouts.',
  );
  return true;
}
