import { deepStrictEqual, strictEqual } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Contender, Op, Session, StartOptions } from './contenders/contender.js';
import { gc } from './heap.js';
import type { Settings } from './settings.js';

export interface Context {
  readonly contender: Contender;
  readonly session: Session;
  readonly settings: Settings;
  readonly startOptions: StartOptions;
}

export interface Workload {
  readonly id: string;
  readonly title: string;
  readonly unit: 'µs' | 'ms' | 'calls/s' | 'items/s';
  /** Throughput and streaming are the workloads where a bigger number is better; ratios are inverted for them. */
  readonly higherIsBetter: boolean;
  /** The contenders that take part (by id); all that do not restrict themselves when absent. */
  readonly only?: readonly string[];
  rounds(s: Settings): number;
  measure(ctx: Context): Promise<number>;
}

const mib = Buffer.alloc(1 << 20, 7);
const objects = Array.from({ length: 10_000 }, (_, i) => ({ id: i, name: `item-${i}`, active: i % 2 === 0 }));

async function meanMicros(ctx: Context, batch: number, op: Op, arg: (i: number) => unknown): Promise<number> {
  const n = ctx.contender.slow ? ctx.settings.slowBatch : batch;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await ctx.session.call(op, arg(i));
  return ((performance.now() - t0) * 1000) / n;
}

export const tinyLatency: Workload = {
  id: 'tiny-latency',
  title: 'tiny call, sequential latency',
  unit: 'µs',
  higherIsBetter: false,
  rounds: (s) => s.rounds.latency,
  measure: (ctx) => meanMicros(ctx, ctx.settings.tinyBatch, 'tiny', (i) => i),
};

export const mibEcho: Workload = {
  id: 'mib-echo',
  title: '1 MiB Buffer echoed',
  unit: 'µs',
  higherIsBetter: false,
  rounds: (s) => s.rounds.payload,
  measure: (ctx) => meanMicros(ctx, ctx.settings.payloadBatch, 'echo', () => mib),
};

export const objectsEcho: Workload = {
  id: 'objects-echo',
  title: '10,000 small objects echoed',
  unit: 'µs',
  higherIsBetter: false,
  rounds: (s) => s.rounds.payload,
  measure: (ctx) => meanMicros(ctx, ctx.settings.payloadBatch, 'echo', () => objects),
};

/** The parent's memory at its highest during one large echo, above what it held just before the call. */
export interface PeakMemory {
  readonly contender: string;
  readonly payload: number;
  /** Resident set: from the kernel's high-water mark (VmHWM, reset before the call) where it can be reset, else sampled. */
  readonly rss: number;
  /** `process.memoryUsage().arrayBuffers`, sampled every millisecond and after the call. */
  readonly arrayBuffers: number;
  readonly rssSource: 'VmHWM' | 'sampled';
}

export const peaks: PeakMemory[] = [];

/** Resets the kernel's peak-RSS mark (Linux: `echo 5 > /proc/self/clear_refs`); false where that is not possible. */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const peakRss = (): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

let big: Buffer | undefined;

/**
 * One large Buffer echoed per sample, against raw fork IPC; the parent's memory is followed during
 * the call. A forced GC first, so the last sample's copies are not counted; the payload itself is
 * in the baseline, so what is reported is what the call added: its answer is one copy, whatever the pool.
 */
export const bigEcho: Workload = {
  id: 'big-echo',
  title: 'large Buffer echoed (64 MiB; 16 MiB in quick mode)',
  unit: 'ms',
  higherIsBetter: false,
  only: ['raw-fork', 'tinypool', 'rip-static', 'poolifier-cluster'],
  rounds: (s) => s.rounds.big,
  async measure({ contender, session, settings }) {
    const bytes = settings.bigPayloadMiB << 20;
    if (big?.byteLength !== bytes) big = Buffer.alloc(bytes, 9);
    // V8 frees the backing stores of collected buffers on a background thread: wait for the last
    // sample's answer to be gone, or the baseline holds it and the next peak looks a copy smaller.
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const before = process.memoryUsage();
    const hwm = resetPeakRss();
    let rss = before.rss;
    let arrayBuffers = before.arrayBuffers;
    const sample = () => {
      const m = process.memoryUsage();
      rss = Math.max(rss, m.rss);
      arrayBuffers = Math.max(arrayBuffers, m.arrayBuffers);
    };
    const sampler = setInterval(sample, 1);
    const t0 = performance.now();
    const echoed = (await session.call('echo', big)) as Uint8Array;
    const elapsed = performance.now() - t0;
    sample();
    clearInterval(sampler);
    strictEqual(echoed.byteLength, bytes, `contender ${contender.id}: large echo length`);
    peaks.push({
      contender: contender.id,
      payload: bytes,
      rss: (hwm ? peakRss() : rss) - before.rss,
      arrayBuffers: arrayBuffers - before.arrayBuffers,
      rssSource: hwm ? 'VmHWM' : 'sampled',
    });
    return elapsed;
  },
};

export const throughput: Workload = {
  id: 'throughput',
  title: 'tiny calls, all in flight at once',
  unit: 'calls/s',
  higherIsBetter: true,
  rounds: (s) => s.rounds.throughput,
  async measure({ contender, session, settings }) {
    const n = contender.slow ? settings.slowThroughputCalls : settings.throughputCalls;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => session.call('tiny', i)));
    return n / ((performance.now() - t0) / 1000);
  },
};

/** Items of one stream read by the consumer as they come, against a raw loop sending the same items. */
export const streamed: Workload = {
  id: 'stream',
  title: 'items streamed from a child',
  unit: 'items/s',
  higherIsBetter: true,
  only: ['raw-stream', 'rip-stream', 'rip-stream-1'],
  rounds: (s) => s.rounds.throughput,
  async measure({ session, settings }) {
    const n = settings.streamItems;
    const t0 = performance.now();
    const received = await session.call('stream', n);
    strictEqual(received, n, 'every item arrived');
    return n / ((performance.now() - t0) / 1000);
  },
};

export const coldStart: Workload = {
  id: 'cold-start',
  title: 'cold start to first result',
  unit: 'ms',
  higherIsBetter: false,
  rounds: (s) => s.rounds.cold,
  async measure({ contender, startOptions }) {
    await contender.prepareCold?.();
    const t0 = performance.now();
    const session = await contender.start({ ...startOptions, cold: true });
    await session.call('tiny', 1);
    const elapsed = performance.now() - t0;
    await session.close();
    return elapsed;
  },
};

/** Fails loudly if a contender does not really do the work, then warms up both sides' JIT. */
export async function verifyAndWarm(contender: Contender, session: Session, settings: Settings): Promise<void> {
  const where = `contender ${contender.id}`;
  strictEqual(await session.call('tiny', 41), 42, `${where}: tiny(41)`);
  // A contender that only measures tiny calls (a raw ceiling with JSON, say) need not carry bytes faithfully.
  const echoes = !contender.workloads || contender.workloads.some((w) => w.includes('echo'));
  if (echoes) await verifyEchoes(where, session);
  if (contender.slow) return;
  for (let i = 0; i < settings.warmupCalls; i++) await session.call('tiny', i);
  if (!echoes) return;
  // The first large messages are several times slower (the IPC read buffers grow); keep that out of round one.
  for (let i = 0; i < 10; i++) await session.call('echo', mib);
  for (let i = 0; i < 3; i++) await session.call('echo', objects);
}

async function verifyEchoes(where: string, session: Session): Promise<void> {
  const buf = (await session.call('echo', mib)) as Uint8Array;
  strictEqual(buf.byteLength, mib.byteLength, `${where}: 1 MiB echo length`);
  strictEqual(buf[buf.byteLength - 1], 7, `${where}: 1 MiB echo content`);
  deepStrictEqual(await session.call('echo', objects), objects, `${where}: 10,000 objects echo`);
}
