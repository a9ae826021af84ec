import { existsSync, readFileSync } from 'node:fs';

/**
 * Compares this run's ratios with those of the committed record (bench/RESULTS.md): a row that got
 * worse beyond the noise is a regression. The noise of a row is the larger of a stated tolerance
 * and the half-width of its own min – max range relative to its median, in the record and in this
 * run: a row whose samples spread ±40% cannot show a 20% change.
 */
export const tolerance = 0.1;

interface Row {
  readonly ratio: number;
  /** (max − min) / (2 · median) of the row's own samples. */
  readonly spread: number;
}

export interface Comparison {
  readonly key: string;
  readonly before: number;
  readonly after: number;
  readonly noise: number;
  /** after / before − 1: above zero, it costs more than it did. */
  readonly change: number;
}

export interface RegressionReport {
  readonly compared: number;
  readonly regressions: readonly Comparison[];
  readonly improvements: readonly Comparison[];
  readonly recordDate: string | undefined;
}

const units: Record<string, number> = { µs: 1e-3, ms: 1, s: 1000, '/s': 1 };

/** "43.4 µs", "2.38 ms", "45,291/s", "159 ms" → a number in one unit per kind; undefined otherwise. */
function parseValue(text: string): number | undefined {
  const m = /^([\d,.]+)\s*(µs|ms|s|\/s)$/.exec(text.trim());
  return m ? Number(m[1]!.replace(/,/g, '')) * units[m[2]!]! : undefined;
}

/** Every ratio of every markdown table with `× …` columns, keyed by "workload / contender / column". */
export function parseRatios(markdown: string): Map<string, Row> {
  const out = new Map<string, Row>();
  let header: string[] | undefined;
  let workload = '';
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      header = undefined;
      continue;
    }
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((c) => c.trim());
    if (!header) {
      header = cells.includes('workload') && cells.includes('contender') ? cells : [];
      continue;
    }
    if (header.length === 0 || cells.every((c) => /^-*:?-+:?$/.test(c))) continue;
    const at = (name: string) => cells[header!.indexOf(name)] ?? '';
    if (at('workload')) workload = at('workload');
    const median = parseValue(at('median'));
    const [min, max] = at('min – max')
      .split(' – ')
      .map((v) => parseValue(v));
    const spread = median && min !== undefined && max !== undefined ? (max - min) / (2 * median) : 0;
    header.forEach((column, i) => {
      if (!column.startsWith('× ')) return;
      const ratio = Number.parseFloat(cells[i] ?? '');
      if (Number.isFinite(ratio) && ratio > 0)
        out.set(`${workload} / ${at('contender')} / ${column}`, { ratio, spread });
    });
  }
  return out;
}

export function readRecord(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

export function compareWithRecord(record: string, now: string): RegressionReport {
  const before = parseRatios(record);
  const after = parseRatios(now);
  const regressions: Comparison[] = [];
  const improvements: Comparison[] = [];
  let compared = 0;
  for (const [key, row] of after) {
    const old = before.get(key);
    // A reference against itself is 1.00× in both: nothing to compare.
    if (!old || (old.ratio === 1 && row.ratio === 1)) continue;
    compared++;
    const noise = Math.max(tolerance, old.spread, row.spread);
    const change = row.ratio / old.ratio - 1;
    const c = { key, before: old.ratio, after: row.ratio, noise, change };
    if (change > noise) regressions.push(c);
    else if (old.ratio / row.ratio - 1 > noise) improvements.push(c);
  }
  const recordDate = /Date: (\S+?)\.?$/m.exec(record)?.[1];
  return { compared, regressions, improvements, recordDate };
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`;

export function regressionLines(r: RegressionReport, recordName: string): string[] {
  const line = (tag: string, c: Comparison) =>
    `${tag}  ${c.key}: ${c.before.toFixed(2)}× → ${c.after.toFixed(2)}× (${pct(c.change)}, noise ±${(c.noise * 100).toFixed(0)}%)`;
  return [
    ...r.regressions.map((c) => line('REGRESSION', c)),
    ...r.improvements.map((c) => line('better    ', c)),
    `Compared ${r.compared} ratios with ${recordName}${r.recordDate ? ` (${r.recordDate})` : ''}: ${r.regressions.length} worse beyond the noise, ${r.improvements.length} better beyond it, the rest within it (noise: the larger of ±${tolerance * 100}% and each row's own min – max half-width).`,
  ];
}
