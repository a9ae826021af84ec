import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { configure, shutdown, warmUp } from 'run-in-process';
import { Workbench, countPrimes, stretchKey } from './work.js';

const LIMIT = 40_000_000;
const ROUNDS = 500_000;

// Both children started and warm before anything is measured: a cold first call loads the pool's
// code and forks its children, which blocks this event loop for tens of milliseconds.
configure({ size: 2, minChildren: 2, preload: [new URL('./work.js', import.meta.url).href] });
await warmUp();

/** Runs `work`, also returning the longest time the main event loop was blocked meanwhile. */
async function measure<T>(work: () => Promise<T>): Promise<{ result: T; maxDelayMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  // The histogram records the delay between two of its timer ticks: let one tick happen before
  // the work starts and one after it ends, so a block right at either edge is counted.
  await sleep(25);
  const result = await work();
  await sleep(25);
  histogram.disable();
  return { result, maxDelayMs: Math.round(histogram.max / 1e6) };
}

const bench = new Workbench(ROUNDS);
const inline = await measure(async () => [countPrimes(LIMIT), stretchKey('hunter2', 'pepper', ROUNDS)] as const);
const offloaded = await measure(() => Promise.all([bench.countPrimes(LIMIT), bench.stretchKey('hunter2', 'pepper')]));
await shutdown();

const [primes, key] = offloaded.result;
console.log(`primes below ${LIMIT}: ${primes}`);
console.log(`pbkdf2-sha512 key: ${key.slice(0, 16)}…`);
console.log(`results match inline: ${inline.result[0] === primes && inline.result[1] === key ? 'yes' : 'no'}`);
console.log(`event-loop max delay inline: ${inline.maxDelayMs} ms`);
console.log(`event-loop max delay offloaded: ${offloaded.maxDelayMs} ms`);
