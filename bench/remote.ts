import type { Contender } from './contenders/contender.js';
import { rawBullmq } from './contenders/bullmq-raw.js';
import { runInProcessRemote } from './contenders/run-in-process-remote.js';
import type { WorkloadInfo } from './report.js';
import { redisServerAvailable, startRedis } from './redis.js';
import { type Entry, type Result, runWorkload } from './runner.js';
import type { Settings } from './settings.js';
import { mibEcho, throughput, tinyLatency, verifyAndWarm, type Workload } from './workloads.js';

/** The reference of the remote section: every ratio there is taken against it. */
export const rawBullmqId = 'raw-bullmq';

/** The local workloads, through a queue: the same measurements, results kept apart. */
export const remoteLatency: Workload = {
  ...tinyLatency,
  id: 'remote-tiny-latency',
  title: 'tiny call through Redis, sequential latency',
};
export const remoteThroughput: Workload = {
  ...throughput,
  id: 'remote-throughput',
  title: 'tiny calls through Redis, all in flight at once',
};
export const remoteMib: Workload = { ...mibEcho, id: 'remote-mib-echo', title: '1 MiB Buffer echoed through Redis' };

export interface RemoteSection {
  readonly workloads: readonly WorkloadInfo[];
  readonly results: readonly Result[];
  readonly labels: ReadonlyMap<string, string>;
  /** Why the section did not run. */
  readonly skipped?: string;
}

/**
 * The remote pool against raw BullMQ on the same redis-server, started here and stopped at the end.
 * Both workers take `settings.size` jobs at a time, the remote pool's local pool has as many
 * children. Skipped, with one line, where redis-server is not installed.
 */
export async function runRemoteSection(
  settings: Settings,
  withLibrary: boolean,
  log: (message: string) => void,
): Promise<RemoteSection> {
  const workloads = [remoteLatency, remoteThroughput, remoteMib];
  if (!redisServerAvailable()) {
    const skipped = 'redis-server not found on PATH (Debian: apt-get install redis-server): remote section skipped';
    log(skipped);
    return { workloads: [], results: [], labels: new Map(), skipped };
  }
  const remote: Settings = {
    ...settings,
    ...settings.remote,
    rounds: { ...settings.rounds, ...settings.remote.rounds },
  };
  const redis = await startRedis();
  const entries: Entry[] = [];
  const results: Result[] = [];
  try {
    const contenders: Contender[] = [
      rawBullmq(redis.socket, settings.size),
      ...(withLibrary ? [runInProcessRemote(redis.socket, settings.size)] : []),
    ];
    for (const contender of contenders) {
      const session = await contender.start({ size: settings.size });
      entries.push({ contender, session });
      await verifyAndWarm(contender, session, remote);
    }
    log(`remote: redis-server (pid ${redis.pid}) and ${contenders.length} workers ready, warmed up`);
    for (const w of workloads) {
      const started = performance.now();
      results.push(...(await runWorkload(w, entries, remote, { size: settings.size })));
      log(`${w.title} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await Promise.all(entries.map((e) => e.session.close()));
    await redis.stop();
  }
  return { workloads, results, labels: new Map(entries.map((e) => [e.contender.id, e.contender.label])) };
}
