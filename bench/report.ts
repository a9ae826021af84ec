import os from 'node:os';
import type { HeapResult } from './heap.js';
import { limitId, tinypoolId } from './lineup.js';
import { rawBullmqId } from './remote.js';
import type { Result } from './runner.js';
import type { Workload } from './workloads.js';

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
