// Per-call heap check, separate from main.ts because 1,000,000 calls take minutes.
// Usage: npm --prefix bench run memory -- [--calls=N] [--contenders=rip-static,tinypool] [--baselines-only]
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { heapGrowthLimit, measureHeapGrowth, type HeapResult } from './heap.js';
import { loadLineup } from './lineup.js';
import { heapLines } from './report.js';
import { memoryRecordPath, outDir, type MemoryRecord } from './results.js';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000000' },
    contenders: { type: 'string', default: 'rip-static,rip-instance,rip-wrapped,rip-pipelined,tinypool' },
    'baselines-only': { type: 'boolean', default: false },
  },
});
const calls = Number(args.calls);
const ids = args.contenders.split(',');
const lineup = await loadLineup(2, args['baselines-only']);
const labels = new Map(lineup.contenders.map((c) => [c.id, c.label]));

const results: HeapResult[] = [];
for (const contender of lineup.contenders.filter((c) => ids.includes(c.id))) {
  const session = await contender.start({ size: 2 });
  const t0 = Date.now();
  const result = await measureHeapGrowth(contender.id, (i) => session.call('tiny', i), calls);
  await session.close();
  results.push(result);
  console.log(`${heapLines([result], labels)[0]} [${((Date.now() - t0) / 1000).toFixed(0)} s]`);
}
await lineup.shutdown();

const record: MemoryRecord = { date: new Date().toISOString(), results };
mkdirSync(outDir, { recursive: true });
writeFileSync(memoryRecordPath, JSON.stringify(record, null, 2));
const leaking = results.filter((r) => r.growth >= heapGrowthLimit);
console.log(
  leaking.length === 0
    ? `no growth ≥ 1 MiB over ${calls.toLocaleString('en-US')} calls`
    : `GROWTH: ${leaking.map((r) => r.contender).join(', ')}`,
);
console.log(`wrote ${memoryRecordPath}; the next \`npm run bench\` puts it in RESULTS.md`);
