import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { svgChart } from './chart.js';
import { goalTable, type Goal } from './goals.js';
import type { HeapResult } from './heap.js';
import {
  ceilingMarkdown,
  heapLines,
  idleLines,
  localTable,
  markdownTable,
  peakLines,
  remoteTable,
  type Report,
} from './report.js';

export const benchDir = fileURLToPath(new URL('..', import.meta.url));
export const outDir = `${benchDir}out/`;
export const memoryRecordPath = `${outDir}memory.json`;
/** Hand-written notes on the targets, kept with the results each run regenerates. */
const analysisPath = `${benchDir}analysis.md`;

export interface MemoryRecord {
  readonly date: string;
  readonly results: readonly HeapResult[];
}

export function readMemoryRecord(): MemoryRecord | undefined {
  return existsSync(memoryRecordPath)
    ? (JSON.parse(readFileSync(memoryRecordPath, 'utf8')) as MemoryRecord)
    : undefined;
}

const method = `## How it is measured

- One process drives every contender; within a workload the contenders take turns round by round, in a new
  (seeded) random order each round, and a warm-up round is discarded. Median and min – max are over rounds.
  Fork-per-call's children are waited for after each of its samples, untimed, so their exit does not land on the
  next contender.
- Every pool has the same number of children (\`size\`, 2 here) and \`serialization: 'advanced'\`.
- **raw fork IPC (limit)**: \`size\` children from \`child_process.fork\`, a request/reply loop with no pool logic.
  A call goes to the least busy child and is never held back, so for throughput each child has (calls in
  flight ÷ size) messages queued: the pipelined limit. tinypool and workerpool keep one task per child, so they pay
  a full round trip per call; **raw fork IPC, 1 in flight per child** (throughput only) does the same, to tell
  pipelining from pool overhead. run-in-process sends the calls that wait for a child in batches.
- **raw fork, batched** (throughput only; issue #16): the true ceiling for tiny calls in bulk. The same raw children,
  but the calls travel as run-in-process sends them: a call that finds a child free goes at once, alone; the others
  wait in the parent and go several per message, their share of what waits, at most the library's current batch
  size (from 4, doubling each time a batch is answered, up to 64: \`src/pool/backlog.ts\`), one batch per child at a
  time. **per-call replies (ceiling)**: each call answered by its own message the moment it finishes, the library's
  semantics (a crash costs only the call that was running); **one reply per batch**: the absolute ceiling, which
  gives that up; **JSON**: per-call replies with \`serialization: 'json'\`, for reference.
- **poolifier** 5.3.2 with its defaults (no task queue: a task goes straight to the least used worker):
  \`FixedClusterPool\` (node:cluster processes, \`serialization: 'advanced'\`) and \`FixedThreadPool\` (threads, beside
  piscina). Its worker files are CommonJS: with an ES module worker, the cluster pool's startup message arrives before
  the module has run, is lost, and no task is ever answered.
- Latency is the mean of a batch of sequential calls; throughput fires all calls at once and divides by the wall time.
- **large Buffer echoed**: one 64 MiB Buffer (16 MiB in quick mode) echoed per sample, 7 rounds, for the raw limit,
  raw tinypool, run-in-process static and poolifier's cluster pool. The parent's memory during the call, above what it
  held just before it (after a forced GC; the payload itself is already there), in a sub-process of its own started
  with \`MALLOC_MMAP_THRESHOLD_=131072\`, so that a freed block goes back to the kernel and rss follows what is live
  (in the main process, pages freed by earlier workloads are reused and rss did not grow at all): rss from the kernel's high-water mark
  \`VmHWM\`, reset before the call by writing 5 to \`/proc/self/clear_refs\`, and \`process.memoryUsage().arrayBuffers\`
  sampled every millisecond (it does not see the serializer's buffers, which are not allocated through it). Reported in
  copies of the payload: the echoed answer is one copy for every pool. The target needs both ≤ 2.
- **children's RSS at idle**: \`VmRSS\` from \`/proc/<pid>/status\`, half a second after a fresh pool answered its first
  call (its children told apart as this process's children that were not there before), against a bare forked node
  child that only waits on its IPC channel.
- Ratio ranges in the targets and the ceiling table are the lowest and highest per-round ratios: contenders take
  turns in every round, so round i of two contenders were measured moments apart.
- **Against the committed record**: every run compares each ratio of its tables with those of the committed
  \`bench/RESULTS.md\` (before overwriting it) and prints a \`REGRESSION\` line for each that got worse by more than
  its noise (the larger of ±10% and the half-width of the row's min – max range, in the record or in this run), then
  a summary. A full or partial run then exits with code 1; a quick run only prints.
- Cold start times a new pool (or fork) up to its first result. The limit forks a single child (the pools start
  \`size\`, as configured) and, when the library is loaded, that child imports the decorated module (and so the
  library), the same import run-in-process does.
- **after warmUp()** (cold start only) times the first call on a pool that \`configure({ minChildren: 1, preload })\`
  and \`await warmUp()\` made ready, untimed, just before; **after warmUp() and 150 ms idle**, the same first call
  made 150 ms later, as a server's first request comes some time after startup. **warm, after 150 ms idle** times
  one call on a pool warmed by 3,000 calls, then left idle as long: the same call with nothing left to compile,
  after the same quiet.
- **instance (100 KB this)** calls a method whose \`this\` holds a 100 KB string; **static, the same 100 KB as an
  argument** (tiny calls only) is its honest baseline: a static call given that string as an argument, the same
  bytes on the wire.
- **OpenTelemetry subscriber** (tiny calls): the decorated static call while a subscriber on
  \`run-in-process:call\` starts a real SDK span for each call, injects its W3C context into the carrier (so it
  travels to the child) and ends it when the value is rebuilt. No span processor and no context manager: exporting
  is the app's cost, and AsyncLocalStorage would slow every contender in the process. It subscribes only while it
  is timed; every other row runs with nobody listening.
- Fork-per-call forks a child per call and resolves on the reply; its child imports nothing, so it is the cheapest
  possible naive decorator. It runs far fewer iterations (it takes tens of milliseconds a call).
- The pinned row re-runs the tiny-call latency in a sub-process started with \`taskset -c 0\`: parent and children
  share one CPU, so every round trip includes context switches instead of two cores spinning in parallel.
- Ratios are costs: 1.00× = as fast as the reference, 2× = twice the time (for throughput: half the calls/s).
- Heap: parent \`heapUsed\` after a forced GC, before and after N tiny calls with 64 in flight,
  after a warm-up of N/10 (at least 1,000) calls.
- **Through Redis** (after the local workloads, their pools closed): one \`redis-server\` started by the bench on a
  Unix socket, without persistence, shared by both contenders. **raw BullMQ** is what an app writes by hand:
  \`queue.add\` per call (the remote pool's job options: \`attempts: 1\`, kept 600 s), a \`Worker\` in another process
  whose processor returns x + 1 or its argument, and one \`QueueEvents\` whose \`completed\` events are dispatched by
  job id. Data is JSON, so a Buffer travels as base64 and the processor decodes and re-encodes it. The **remote
  pool** is \`configure(pool, { transport: bullmq({ connection }) })\` and decorated static methods, served by
  \`run-in-process worker --size 2\` (the CLI): each call is a job, run in the worker's local pool of 2 children.
  Both workers take 2 jobs at a time. Fewer rounds than locally (a call costs about ten times more); 1 MiB echoes
  are batches of a few calls.`;

export function writeResults(report: Report, goals: readonly Goal[], memory: MemoryRecord | undefined): string {
  const dir = report.quick || report.only ? outDir : benchDir;
  mkdirSync(dir, { recursive: true });
  const m = report.machine;
  const md = [
    '# Benchmark results',
    '',
    `${report.quick ? '**Quick mode (smoke run): numbers are indicative only.**\n\n' : ''}${report.only ? `**Partial run: \`--only ${report.only}\`.**\n\n` : ''}Machine: ${m.cpu}, ${m.cores} cores, ${m.os}. Node ${m.node}. Date: ${m.date}.`,
    `Load average (1 min) at start ${m.load[0].toFixed(2)}, at end ${m.load[1].toFixed(2)}${Math.max(...m.load) > m.cores ? ': other work competed for the CPUs, expect noise' : ''}.`,
    `Produced by \`npm --prefix bench run bench${report.quick ? ' -- --quick' : ''}${report.only ? `${report.quick ? '' : ' --'} --only ${report.only}` : ''}\`.`,
    '',
    ...(report.workloads.length > 0
      ? ['![Cost relative to raw child_process IPC](chart.svg)', '', markdownTable(report, localTable(report)), '']
      : []),
    ...(ceilingMarkdown(report).length > 0
      ? [
          '## Tiny calls in bulk: run-in-process against the true ceiling and every pool',
          '',
          ...ceilingMarkdown(report),
          '',
        ]
      : []),
    ...((report.peaks?.length ?? 0) > 0
      ? ["## The parent's peak memory during a large echo", '', ...peakLines(report).map((l) => `- ${l}`), '']
      : []),
    ...((report.idle?.length ?? 0) > 0
      ? ["## Children's memory at idle", '', ...idleLines(report).map((l) => `- ${l}`), '']
      : []),
    ...remoteLines(report),
    '## Targets',
    '',
    goalTable(goals),
    '',
    '## Heap per call',
    '',
    ...heapLines(report.heap, report.labels).map((l) => `- ${l}`),
    ...(memory
      ? [
          '',
          `Last \`npm --prefix bench run memory\` (${memory.date}):`,
          '',
          ...heapLines(memory.results, report.labels).map((l) => `- ${l}`),
        ]
      : []),
    '',
    ...(existsSync(analysisPath) ? [readFileSync(analysisPath, 'utf8').trim(), ''] : []),
    method,
    '',
  ].join('\n');
  writeFileSync(`${dir}RESULTS.md`, md);
  writeFileSync(`${dir}chart.svg`, svgChart(report));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    `${outDir}results.json`,
    JSON.stringify(report, (_, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v), 2),
  );
  return dir;
}

function remoteLines(report: Report): string[] {
  if (!report.remote) return [];
  return [
    '## Through a queue: the remote pool against raw BullMQ',
    '',
    report.remote.skipped ?? markdownTable(report, remoteTable(report)),
    '',
  ];
}
