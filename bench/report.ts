import os from 'node:os';
import type { HeapResult } from './heap.js';
import { bareNodeId, bareNodeLabel, type IdleRss } from './idle-rss.js';
import { ceilingId, limitId, tinypoolId } from './lineup.js';
import { rawBullmqId } from './remote.js';
import type { Result } from './runner.js';
import type { PeakMemory, Workload } from './workloads.js';

export type WorkloadInfo = Pick<Workload, 'id' | 'title' | 'unit' | 'higherIsBetter'>;

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly os: string;
  readonly date: string;
  /** 1-minute load averages at the start and end of the run: above the core count, other work was competing. */
  readonly load: readonly [number, number];
}

export interface Report {
  readonly quick: boolean;
  /** Given with `--only`: what it selected. Such a run is written to out/, not over the record of a whole one. */
  readonly only: string | undefined;
  readonly machine: Machine;
  /** The local workloads: those of the main table and the chart. */
  readonly workloads: readonly WorkloadInfo[];
  /** The remote section's workloads, and why it did not run; undefined when it was not selected. */
  readonly remote: { readonly workloads: readonly WorkloadInfo[]; readonly skipped?: string | undefined } | undefined;
  /** Of both sections. */
  readonly results: readonly Result[];
  readonly labels: ReadonlyMap<string, string>;
  readonly heap: readonly HeapResult[];
  /** The parent's peak memory during each large echo (bigEcho), when that workload ran. */
  readonly peaks?: readonly PeakMemory[];
  /** Children's resident memory at idle, when measured. */
  readonly idle?: readonly IdleRss[];
}

export function machine(loadAtStart: number): Machine {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
    load: [loadAtStart, os.loadavg()[0]!],
  };
}

export function find(report: Report, workload: string, contender: string): Result | undefined {
  return report.results.find((r) => r.workload === workload && r.contender === contender);
}

/** How many times worse than the reference; 1.00 = equal. For throughput: reference calls/s ÷ these calls/s. */
export function costRatio(report: Report, w: WorkloadInfo, contender: string, reference: string): number | undefined {
  const mine = find(report, w.id, contender)?.summary.median;
  const ref = find(report, w.id, reference)?.summary.median;
  if (mine === undefined || ref === undefined) return undefined;
  return w.higherIsBetter ? ref / mine : mine / ref;
}

/**
 * The ratio of medians, and how far it moves with the noise: the lowest and highest of the
 * per-round ratios (contender and reference take turns in every round, so round i of each were
 * measured moments apart). Where rounds cannot be paired, the two best samples' ratio and the two worst's.
 */
export function ratioRange(
  report: Report,
  w: WorkloadInfo,
  contender: string,
  reference: string,
): { median: number; lo: number; hi: number } | undefined {
  const mine = find(report, w.id, contender)?.summary;
  const ref = find(report, w.id, reference)?.summary;
  if (!mine || !ref) return undefined;
  const cost = (a: number, b: number) => (w.higherIsBetter ? b / a : a / b);
  const median = cost(mine.median, ref.median);
  const paired =
    mine.samples && ref.samples && mine.samples.length === ref.samples.length
      ? mine.samples.map((m, i) => cost(m, ref.samples![i]!))
      : [
          cost(w.higherIsBetter ? mine.max : mine.min, w.higherIsBetter ? ref.max : ref.min),
          cost(w.higherIsBetter ? mine.min : mine.max, w.higherIsBetter ? ref.min : ref.max),
        ];
  return { median, lo: Math.min(median, ...paired), hi: Math.max(median, ...paired) };
}

export const formatRange = (r: { median: number; lo: number; hi: number } | undefined, invert = false): string => {
  if (!r) return '–';
  const f = (x: number) => (invert ? 1 / x : x).toFixed(2);
  const [a, b] = invert ? [r.hi, r.lo] : [r.lo, r.hi];
  return `${f(r.median)}× (${f(a)}–${f(b)})`;
};

export function formatValue(v: number, unit: WorkloadInfo['unit']): string {
  if (unit === 'calls/s' || unit === 'items/s') return `${Math.round(v).toLocaleString('en-US')}/s`;
  const ms = unit === 'ms' ? v : v / 1000;
  if (ms >= 1) return `${ms.toFixed(ms >= 100 ? 0 : 2)} ms`;
  return `${(ms * 1000).toFixed(1)} µs`;
}

export const formatRatio = (r: number | undefined): string =>
  r === undefined ? '–' : `${r.toFixed(r >= 100 ? 0 : 2)}×`;

/** A table's workloads, and the references its ratio columns are taken against. */
export interface Table {
  readonly workloads: readonly WorkloadInfo[];
  readonly references: readonly { readonly header: string; readonly id: string }[];
}

export const localTable = (report: Report): Table => ({
  workloads: report.workloads,
  references: [
    { header: '× limit', id: limitId },
    { header: '× tinypool', id: tinypoolId },
  ],
});

/** Through a queue, the reference is what an app writes by hand with BullMQ, on the same Redis. */
export const remoteTable = (report: Report): Table => ({
  workloads: report.remote?.workloads ?? [],
  references: [{ header: '× raw BullMQ', id: rawBullmqId }],
});

const headerOf = (table: Table) => [
  'workload',
  'contender',
  'median',
  'min – max',
  ...table.references.map((r) => r.header),
];

function rows(report: Report, table: Table): string[][] {
  return table.workloads.flatMap((w) =>
    report.results
      .filter((r) => r.workload === w.id)
      .map((r, i) => [
        i === 0 ? w.title : '',
        report.labels.get(r.contender) ?? r.contender,
        formatValue(r.summary.median, w.unit),
        `${formatValue(r.summary.min, w.unit)} – ${formatValue(r.summary.max, w.unit)}`,
        ...table.references.map((ref) => formatRatio(costRatio(report, w, r.contender, ref.id))),
      ]),
  );
}

export function textTable(report: Report, table: Table): string {
  const header = headerOf(table);
  const all = [header, ...rows(report, table)];
  const widths = header.map((_, c) => Math.max(...all.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows(report, table).map(line)].join('\n');
}

export function markdownTable(report: Report, table: Table): string {
  const header = headerOf(table);
  const line = (row: string[]) => `| ${row.join(' | ')} |`;
  return [
    line(header),
    `|${header.map((_, c) => (c < 2 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows(report, table).map(line),
  ].join('\n');
}

export function heapLines(heap: readonly HeapResult[], labels: ReadonlyMap<string, string>): string[] {
  return heap.map((h) => {
    const mib = (b: number) => `${(b / (1 << 20)).toFixed(2)} MiB`;
    const first = h.checkpoints[0]!;
    const trend = h.checkpoints.map((c) => ((c - first) / 1024).toFixed(0)).join(', ');
    return `${labels.get(h.contender) ?? h.contender}: ${h.calls.toLocaleString('en-US')} calls, heap ${mib(first)} → ${mib(first + h.growth)} (${h.growth >= 0 ? '+' : ''}${(h.growth / 1024).toFixed(0)} KiB, ${h.bytesPerCall.toFixed(3)} B/call; KiB over start at each tenth: ${trend})`;
  });
}

/**
 * Tiny calls in bulk: the decorated static call's rate as a multiple of every other contender's
 * (above 1: it is faster), the true ceiling first. Empty when either side did not run.
 */
export function ceilingRows(report: Report, contender = 'rip-static'): string[][] {
  const w = report.workloads.find((x) => x.id === 'throughput');
  if (!w || !find(report, w.id, contender)) return [];
  const others = report.results.filter((r) => r.workload === w.id && r.contender !== contender);
  others.sort((a, b) => Number(b.contender === ceilingId) - Number(a.contender === ceilingId));
  return others.map((r) => [
    report.labels.get(r.contender) ?? r.contender,
    formatValue(r.summary.median, w.unit),
    formatRange(ratioRange(report, w, contender, r.contender), true),
  ]);
}

const ceilingHeader = ['against', 'its calls/s', 'run-in-process static: × its rate (range)'];

export const ceilingText = (report: Report): string[] => {
  const rows = ceilingRows(report);
  if (rows.length === 0) return [];
  const all = [ceilingHeader, ...rows];
  const widths = ceilingHeader.map((_, c) => Math.max(...all.map((row) => row[c]!.length)));
  return all.map((row) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
};

export const ceilingMarkdown = (report: Report): string[] => {
  const rows = ceilingRows(report);
  if (rows.length === 0) return [];
  return [`| ${ceilingHeader.join(' | ')} |`, '| --- | ---: | ---: |', ...rows.map((row) => `| ${row.join(' | ')} |`)];
};

const mibOf = (b: number) => `${(b / (1 << 20)).toFixed(1)} MiB`;
const medianOf = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Per contender: the median over samples of what a large echo added to the parent's memory, in payload copies. */
export function peakCopies(
  peaks: readonly PeakMemory[],
  contender: string,
): { rss: number; rssMax: number; arrayBuffers: number; payload: number; source: string } | undefined {
  const mine = peaks.filter((p) => p.contender === contender);
  if (mine.length === 0) return undefined;
  const payload = mine[0]!.payload;
  return {
    rss: medianOf(mine.map((p) => p.rss)) / payload,
    rssMax: Math.max(...mine.map((p) => p.rss)) / payload,
    arrayBuffers: medianOf(mine.map((p) => p.arrayBuffers)) / payload,
    payload,
    source: mine[0]!.rssSource,
  };
}

export function peakLines(report: Report): string[] {
  const peaks = report.peaks ?? [];
  return [...new Set(peaks.map((p) => p.contender))].map((id) => {
    const c = peakCopies(peaks, id)!;
    return `${report.labels.get(id) ?? id}: ${mibOf(c.payload)} payload; rss +${((c.rss * c.payload) / (1 << 20)).toFixed(0)} MiB = ${c.rss.toFixed(2)} copies (worst sample ${c.rssMax.toFixed(2)}; ${c.source}), arrayBuffers +${c.arrayBuffers.toFixed(2)} copies (sampled every ms)`;
  });
}

/** Median VmRSS of one kind of child at idle. */
export const idleRss = (report: Report, contender: string): number | undefined => {
  const found = report.idle?.find((i) => i.contender === contender);
  return found && medianOf(found.rss);
};

export function idleLines(report: Report): string[] {
  const bare = idleRss(report, bareNodeId);
  return (report.idle ?? []).map((i) => {
    const label = i.contender === bareNodeId ? bareNodeLabel : (report.labels.get(i.contender) ?? i.contender);
    const rss = medianOf(i.rss);
    const times = bare && i.contender !== bareNodeId ? ` = ${(rss / bare).toFixed(2)}× the bare child` : '';
    return `${label}: VmRSS ${mibOf(rss)}${i.rss.length > 1 ? ` (children: ${i.rss.map(mibOf).join(', ')})` : ''}${times}`;
  });
}
