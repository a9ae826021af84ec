import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { evaluateGoals, goalLines } from './goals.js';
import { measureHeapGrowth, type HeapResult } from './heap.js';
import { loadLineup, tinypoolId } from './lineup.js';
import { pinnedWorkloadId, runPinned } from './pinned.js';
import { heapLines, machine, textTable, type Report, type WorkloadInfo } from './report.js';
import { readMemoryRecord, writeResults } from './results.js';
import { runWorkload, type Entry, type Result } from './runner.js';
import { full, quick } from './settings.js';
import {
  coldStart,
  mibEcho,
  objectsEcho,
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
    only: { type: 'string' },
    // Internal: set by the pinned re-exec, which measures tiny-call latency only and writes it to this file.
    'pinned-latency': { type: 'string' },
  },
});
const base = args.quick || process.env.BENCH_QUICK === '1' ? quick : full;
const settings = { ...base, memoryCalls: Number(args['memory-calls'] ?? base.memoryCalls) };
const started = performance.now();
const loadAtStart = loadavg()[0]!;
const log = (msg: string) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}`);

const lineup = await loadLineup(settings.size, args['baselines-only'], args.only?.split(','));
const startOptions = { size: settings.size, coldImport: lineup.coldImport };
const labels = new Map(lineup.contenders.map((c) => [c.id, c.label]));
const entries: Entry[] = [];
const results: Result[] = [];
const heap: HeapResult[] = [];

async function run(w: Workload): Promise<void> {
  const t0 = performance.now();
  results.push(...(await runWorkload(w, entries, settings, startOptions)));
  log(`${w.title} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

async function measureWarm(): Promise<void> {
  for (const w of [tinyLatency, mibEcho, objectsEcho, throughput, streamed]) await run(w);
  for (const { contender, session } of entries) {
    if (!contender.id.startsWith('rip-') && contender.id !== tinypoolId) continue;
    heap.push(await measureHeapGrowth(contender.id, (i) => session.call('tiny', i), settings.memoryCalls));
    await session.settle?.();
  }
  log(`heap check, ${settings.memoryCalls} calls each`);
  // Last: a cold start of run-in-process shuts down the pools the warm sessions use.
  await run(coldStart);
}

try {
  for (const contender of lineup.contenders) {
    const session = await contender.start({ size: settings.size });
    entries.push({ contender, session });
    await verifyAndWarm(contender, session, settings);
    await session.settle?.();
  }
  if (args['pinned-latency']) await run(tinyLatency);
  else await measureWarm();
} finally {
  // Also on failure: a child left running would keep this process alive.
  await Promise.all(entries.map((e) => e.session.close()));
  await lineup.shutdown();
}

if (args['pinned-latency']) {
  writeFileSync(args['pinned-latency'], JSON.stringify(results));
} else {
  const pinned = await runPinned([
    ...(settings.quick ? ['--quick'] : []),
    ...(args['baselines-only'] ? ['--baselines-only'] : []),
    ...(args.only ? [`--only=${args.only}`] : []),
  ]);
  if (pinned) results.push(...pinned);
  log(pinned ? 'pinned latency sub-run' : 'taskset not found: no pinned latency');

  const pinnedInfo: WorkloadInfo = {
    ...tinyLatency,
    id: pinnedWorkloadId,
    title: 'tiny call, latency, pinned to CPU 0',
  };
  const workloads = [
    tinyLatency,
    ...(pinned ? [pinnedInfo] : []),
    throughput,
    mibEcho,
    objectsEcho,
    streamed,
    coldStart,
  ];
  const report: Report = { quick: settings.quick, machine: machine(loadAtStart), workloads, results, labels, heap };
  const memory = readMemoryRecord();
  const goals = evaluateGoals(report, [...heap, ...(memory?.results ?? [])]);

  console.log(
    `\n${textTable(report)}\n\nTargets:\n${goalLines(goals).join('\n')}\n\nHeap:\n${heapLines(heap, labels).join('\n')}`,
  );
  const dir = writeResults(report, goals, memory);
  log(`wrote ${dir}RESULTS.md and ${dir}chart.svg`);
}
