import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { evaluateGoals, goalLines } from './goals.js';
import { runBigEcho } from './big-echo.js';
import { measureHeapGrowth, type HeapResult } from './heap.js';
import { type IdleRss, measureIdleRss } from './idle-rss.js';
import { loadLineup, tinypoolId } from './lineup.js';
import { pinnedWorkloadId, runPinned } from './pinned.js';
import type { StartOptions } from './contenders/contender.js';
import { rawBullmqId, type RemoteSection, runRemoteSection } from './remote.js';
import {
  ceilingText,
  markdownTable,
  heapLines,
  idleLines,
  localTable,
  machine,
  peakLines,
  remoteTable,
  textTable,
  type Report,
  type WorkloadInfo,
} from './report.js';
import { compareWithRecord, readRecord, regressionLines } from './regressions.js';
import { benchDir, readMemoryRecord, writeResults } from './results.js';
import { runWorkload, type Entry, type Result } from './runner.js';
import { full, quick } from './settings.js';
import {
  bigEcho,
  coldStart,
  mibEcho,
  objectsEcho,
  peaks,
  streamed,
  throughput,
  tinyLatency,
  verifyAndWarm,
  type Workload,
} from './workloads.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'baselines-only': { type: 'boolean', default: false },
    'memory-calls': { type: 'string' },
    // Comma-separated contender ids, for looking into one comparison; the limit and tinypool always stay.
    // `remote` selects the remote section (raw BullMQ always stays there); a list of remote ids alone skips the local one.
    only: { type: 'string' },
    // Internal: set by the pinned re-exec, which measures tiny-call latency only and writes it to this file.
    'pinned-latency': { type: 'string' },
    // Internal: set by the large-echo re-exec (big-echo.ts), which runs that workload only and writes it to this file.
    'big-echo': { type: 'string' },
  },
});
const base = args.quick || process.env.BENCH_QUICK === '1' ? quick : full;
const settings = { ...base, memoryCalls: Number(args['memory-calls'] ?? base.memoryCalls) };
const started = performance.now();
const loadAtStart = loadavg()[0]!;
const log = (msg: string) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}`);

const only = args.only?.split(',');
const remoteIds = ['remote', rawBullmqId, 'rip-remote'];
const runLocal = !only || only.some((id) => !remoteIds.includes(id));
const subRun = args['pinned-latency'] ?? args['big-echo'];
const runRemote = !subRun && (!only || only.some((id) => remoteIds.includes(id)));
const entries: Entry[] = [];
const results: Result[] = [];
const heap: HeapResult[] = [];
let idle: IdleRss[] = [];
const labels = new Map<string, string>();
let remote: RemoteSection | undefined;

async function run(w: Workload, startOptions: StartOptions): Promise<void> {
  const t0 = performance.now();
  results.push(...(await runWorkload(w, entries, settings, startOptions)));
  log(`${w.title} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

async function measureWarm(startOptions: StartOptions): Promise<void> {
  for (const w of [tinyLatency, mibEcho, objectsEcho, throughput, streamed]) await run(w, startOptions);
  for (const { contender, session } of entries) {
    if (!contender.id.startsWith('rip-') && contender.id !== tinypoolId) continue;
    heap.push(await measureHeapGrowth(contender.id, (i) => session.call('tiny', i), settings.memoryCalls));
    await session.settle?.();
  }
  log(`heap check, ${settings.memoryCalls} calls each`);
  // Last: a cold start of run-in-process shuts down the pools the warm sessions use.
  await run(coldStart, startOptions);
  // Then, on fresh pools again: a child's memory at idle, against a bare node child's.
  const idleIds = settings.quick
    ? [tinypoolId, 'rip-static']
    : [tinypoolId, 'rip-static', 'workerpool', 'poolifier-cluster'];
  const t0 = performance.now();
  idle = await measureIdleRss(
    entries.map((e) => e.contender).filter((c) => idleIds.includes(c.id)),
    { size: settings.size },
  );
  log(`children's RSS at idle (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

if (runLocal) {
  const lineup = await loadLineup(settings.size, args['baselines-only'], only);
  const startOptions = { size: settings.size, coldImport: lineup.coldImport };
  for (const c of lineup.contenders) labels.set(c.id, c.label);
  try {
    for (const contender of lineup.contenders) {
      // The pinned sub-run measures one-at-a-time latency only, the large-echo one that workload only.
      if (args['pinned-latency'] && contender.workloads && !contender.workloads.includes(tinyLatency.id)) continue;
      if (args['big-echo'] && !bigEcho.only?.includes(contender.id)) continue;
      const session = await contender.start({ size: settings.size });
      entries.push({ contender, session });
      await verifyAndWarm(contender, session, settings);
      await session.settle?.();
    }
    if (args['pinned-latency']) await run(tinyLatency, startOptions);
    else if (args['big-echo']) await run(bigEcho, startOptions);
    else await measureWarm(startOptions);
  } finally {
    // Also on failure: a child left running would keep this process alive.
    await Promise.all(entries.map((e) => e.session.close()));
    await lineup.shutdown();
  }
}

if (runRemote) {
  // After the local section, its pools closed: the remote workers and redis-server get the CPUs.
  // `--only raw-bullmq` alone measures the reference without the library.
  const withLibrary = !args['baselines-only'] && !(only?.length === 1 && only[0] === rawBullmqId);
  remote = await runRemoteSection(settings, withLibrary, log);
  results.push(...remote.results);
  for (const [id, label] of remote.labels) labels.set(id, label);
}

if (args['pinned-latency']) {
  writeFileSync(args['pinned-latency'], JSON.stringify(results));
} else if (args['big-echo']) {
  writeFileSync(args['big-echo'], JSON.stringify({ results, peaks }));
} else {
  const pinned = runLocal
    ? await runPinned([
        ...(settings.quick ? ['--quick'] : []),
        ...(args['baselines-only'] ? ['--baselines-only'] : []),
        ...(args.only ? [`--only=${args.only}`] : []),
      ])
    : undefined;
  if (pinned) results.push(...pinned);
  if (runLocal) log(pinned ? 'pinned latency sub-run' : 'taskset not found: no pinned latency');
  if (runLocal && (!only || only.some((id) => bigEcho.only?.includes(id)))) {
    const big = await runBigEcho([
      ...(settings.quick ? ['--quick'] : []),
      ...(args['baselines-only'] ? ['--baselines-only'] : []),
      ...(args.only ? [`--only=${args.only}`] : []),
    ]);
    results.push(...big.results);
    peaks.push(...big.peaks);
    log('large-echo sub-run');
  }

  const pinnedInfo: WorkloadInfo = {
    ...tinyLatency,
    id: pinnedWorkloadId,
    title: 'tiny call, latency, pinned to CPU 0',
  };
  const workloads = runLocal
    ? [tinyLatency, ...(pinned ? [pinnedInfo] : []), throughput, mibEcho, bigEcho, objectsEcho, streamed, coldStart]
    : [];
  const report: Report = {
    quick: settings.quick,
    only: args.only,
    machine: machine(loadAtStart),
    workloads,
    remote: remote && { workloads: remote.workloads, skipped: remote.skipped },
    results,
    labels,
    heap,
    peaks,
    idle,
  };
  const memory = readMemoryRecord();
  const goals = evaluateGoals(report, [...heap, ...(memory?.results ?? [])]);

  const tables = [
    ...(runLocal ? [textTable(report, localTable(report))] : []),
    ...(remote ? [`Through Redis:\n${remote.skipped ?? textTable(report, remoteTable(report))}`] : []),
  ];
  const extra = [
    ...(ceilingText(report).length > 0 ? ['Tiny calls in bulk against each:', ...ceilingText(report), ''] : []),
    ...(peaks.length > 0 ? ["The parent's peak memory during a large echo:", ...peakLines(report), ''] : []),
    ...(idle.length > 0 ? ["Children's memory at idle:", ...idleLines(report), ''] : []),
  ];
  console.log(
    `\n${tables.join('\n\n')}\n\n${extra.join('\n')}\nTargets:\n${goalLines(goals).join('\n')}\n\nHeap:\n${heapLines(heap, labels).join('\n')}`,
  );
  // Before the record is overwritten: what got worse since it was committed.
  const record = readRecord(`${benchDir}RESULTS.md`);
  if (record) {
    const now = [
      ...(runLocal ? [markdownTable(report, localTable(report))] : []),
      ...(remote && !remote.skipped ? [markdownTable(report, remoteTable(report))] : []),
    ].join('\n\n');
    const compared = compareWithRecord(record, now);
    const note = settings.quick
      ? ' (quick run: a few short samples against a full run, so expect many rows to differ; reported only, never fails)'
      : '';
    console.log(`\nAgainst the committed record${note}:\n${regressionLines(compared, 'bench/RESULTS.md').join('\n')}`);
    if (compared.regressions.length > 0) {
      // A quick run's few samples are no basis for failing anything (CI runs it): it only reports.
      if (!settings.quick) process.exitCode = 1;
    }
  }
  const dir = writeResults(report, goals, memory);
  log(`wrote ${dir}RESULTS.md and ${dir}chart.svg`);
}
