import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface HeapResult {
  readonly contender: string;
  readonly calls: number;
  /** heapUsed after a full GC, before the measured calls, then after each tenth of them. */
  readonly checkpoints: readonly number[];
  readonly growth: number;
  readonly bytesPerCall: number;
}

/** A retained byte per call or more is a leak; below 1 MiB in total is GC noise at any N we run. */
export const heapGrowthLimit = 1 << 20;

function exposeGc(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  // Lets `node build/main.js` work without --expose-gc.
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export const gc = exposeGc();

async function settledHeap(): Promise<number> {
  // Two passes with a turn of the event loop between them: finalizers and pending replies release the rest.
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** Parent-side heap only: a child's heap is not visible through the public API. */
export async function measureHeapGrowth(
  contender: string,
  call: (i: number) => Promise<unknown>,
  calls: number,
  window = 64,
): Promise<HeapResult> {
  // Pools grow their own bookkeeping to a steady size first; that is not per-call growth.
  await runWindowed(Math.max(Math.min(1_000, calls), Math.ceil(calls / 10)), window, call);
  const checkpoints = [await settledHeap()];
  const step = Math.ceil(calls / 10);
  for (let done = 0; done < calls; done += step) {
    await runWindowed(Math.min(step, calls - done), window, call);
    checkpoints.push(await settledHeap());
  }
  const growth = checkpoints[checkpoints.length - 1]! - checkpoints[0]!;
  return { contender, calls, checkpoints, growth, bytesPerCall: growth / calls };
}

/** Runs `count` calls with at most `window` in flight, so a long run never holds `count` promises at once. */
async function runWindowed(count: number, window: number, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await call(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
}
