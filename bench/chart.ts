import { ceilingId, limitId } from './lineup.js';
import { costRatio, formatRatio, formatValue, find, type Report } from './report.js';

const colors: Record<string, string> = {
  'raw-fork': '#7f7f7f',
  'raw-fork-1': '#bababa',
  'raw-batch': '#222222',
  'raw-batch-1reply': '#555555',
  'raw-batch-json': '#9c9c9c',
  'raw-batch-pipe': '#3a3a3a',
  tinypool: '#4e79a7',
  'rip-static': '#2e8b3e',
  'rip-instance': '#59a14f',
  'rip-static-blob': '#a0cbe8',
  'rip-wrapped': '#8cd17d',
  'rip-pipelined': '#1b5e20',
  workerpool: '#f28e2b',
  piscina: '#b07aa1',
  'poolifier-cluster': '#edc948',
  'poolifier-thread': '#d4a6c8',
  'fork-per-call': '#e15759',
  'raw-stream': '#7f7f7f',
  'rip-stream': '#2e8b3e',
  'rip-stream-1': '#8cd17d',
};

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Small multiples, one panel per workload, bars = cost relative to the raw IPC limit on a
 * shared log axis: fork-per-call is three orders of magnitude off and would flatten a linear one.
 */
export function svgChart(report: Report): string {
  const left = 250;
  const plot = 440;
  const right = 170;
  const bar = 14;
  const gap = 4;
  const width = left + plot + right;
  const panels = report.workloads
    .map((w) => ({
      w,
      bars: report.results
        .filter((r) => r.workload === w.id)
        .map((r) => ({ r, ratio: costRatio(report, w, r.contender, limitId) }))
        .filter((b): b is typeof b & { ratio: number } => b.ratio !== undefined),
    }))
    .filter((panel) => panel.bars.length > 0); // streaming has a limit of its own, not the IPC call limit
  const ratios = panels.flatMap((p) => p.bars.map((b) => b.ratio));
  const lo = 10 ** Math.floor(Math.log10(Math.min(1, ...ratios)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(10, ...ratios)));
  const x = (r: number) => left + (plot * Math.log10(r / lo)) / Math.log10(hi / lo);

  const out: string[] = [];
  let y = 40;
  for (const { w, bars } of panels) {
    out.push(`<text x="8" y="${y + 12}" font-weight="bold">${escapeXml(w.title)}</text>`);
    y += 20;
    // Where the true ceiling was measured (tiny calls in bulk), a dashed line marks it across the panel.
    const ceiling = bars.find((b) => b.r.contender === ceilingId);
    if (ceiling) {
      const cx = x(ceiling.ratio).toFixed(1);
      out.push(
        `<line x1="${cx}" y1="${y - 4}" x2="${cx}" y2="${y + bars.length * (bar + gap)}" stroke="#222" stroke-dasharray="4 3"/>`,
        `<text x="${cx}" y="${y - 6}" text-anchor="middle" font-size="10">ceiling: the library's batches, per-call replies</text>`,
      );
    }
    for (const { r, ratio } of bars) {
      const label = report.labels.get(r.contender) ?? r.contender;
      const value = formatValue(find(report, w.id, r.contender)!.summary.median, w.unit);
      out.push(
        `<text x="${left - 6}" y="${y + bar - 3}" text-anchor="end">${escapeXml(label)}</text>`,
        `<rect x="${left}" y="${y}" width="${Math.max(1, x(ratio) - left).toFixed(1)}" height="${bar}" fill="${colors[r.contender] ?? '#999'}"/>`,
        `<text x="${(x(ratio) + 4).toFixed(1)}" y="${y + bar - 3}">${escapeXml(`${formatRatio(ratio)}  ${value}`)}</text>`,
      );
      y += bar + gap;
    }
    y += 10;
  }
  const ticks: string[] = [];
  for (let t = lo; t <= hi * 1.0001; t *= 10) {
    ticks.push(
      `<line x1="${x(t)}" y1="32" x2="${x(t)}" y2="${y}" stroke="${t === 1 ? '#333' : '#ddd'}"/>`,
      `<text x="${x(t)}" y="${y + 14}" text-anchor="middle">${t >= 1 ? t : t.toFixed(-Math.log10(t))}×</text>`,
    );
  }
  const height = y + 26;
  const title = `Cost relative to raw child_process IPC (log scale, lower is better) — ${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
    ...ticks,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
