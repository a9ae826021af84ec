import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { shutdown } from 'run-in-process';
import { Catalog, Simulation } from './work.js';

console.log(`main pid ${process.pid}`);

// 1. A long computation in a child drives a progress bar here, through a callback.
const steps = 40;
const bar = new cliProgress.SingleBar(
  { format: 'estimating pi [{bar}] {value}/{total} steps', noTTYOutput: true, notTTYSchedule: 500 },
  cliProgress.Presets.shades_classic,
);
bar.start(steps, 0);
let events = 0;
const { pi, pid } = await new Simulation().estimatePi(steps, (done) => {
  events++;
  bar.update(done);
});
bar.stop();
console.log(`pi ≈ ${pi.toFixed(2)} from child pid ${pid}; ${events} progress events drove the bar`);

// 2. Rows stream from a child; the loop stops at the first good one, and the child stops with it.
const scratch = mkdtempSync(join(tmpdir(), 'streaming-example-'));
const marker = join(scratch, 'rows-done');
let read = 0;
for await (const row of new Catalog().rows(1_000_000, marker)) {
  read++;
  if (row.score > 0.999) {
    console.log(`first row scoring above 0.999: #${row.id} (score ${row.score.toFixed(4)}), from child pid ${row.pid}`);
    break;
  }
}
// `break` returned once the child's generator had stopped and its `finally` had run.
const made = Number(readFileSync(marker, 'utf8').match(/\d+/)?.[0]);
console.log(`read ${read} rows; the child made ${made}, at most 16 ahead: ${made - read <= 16 ? 'yes' : 'no'}`);
rmSync(scratch, { recursive: true, force: true });

await shutdown();
