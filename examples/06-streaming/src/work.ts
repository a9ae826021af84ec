import { writeFileSync } from 'node:fs';
import { runInProcess } from 'run-in-process';

/** A long computation that reports its progress through a callback, which the parent calls back. */
export class Simulation {
  @runInProcess({ callbacks: true })
  async estimatePi(steps: number, onProgress: (done: number) => void): Promise<{ pi: number; pid: number }> {
    let inside = 0;
    let seed = 42;
    const samplesPerStep = 200_000;
    for (let step = 1; step <= steps; step++) {
      for (let i = 0; i < samplesPerStep; i++) {
        // A small deterministic generator (mulberry32), so every run prints the same estimate.
        seed = (seed + 0x6d2b79f5) | 0;
        const x = random(seed);
        seed = (seed + 0x6d2b79f5) | 0;
        const y = random(seed);
        if (x * x + y * y <= 1) inside++;
      }
      onProgress(step);
    }
    return { pi: (4 * inside) / (steps * samplesPerStep), pid: process.pid };
  }
}

export interface Row {
  id: number;
  score: number;
  pid: number;
}

/** Rows made in a child, as many as the consumer reads: at most `window` ahead of it. */
export class Catalog {
  @runInProcess({ stream: { window: 16 } })
  async *rows(count: number, doneMarker: string): AsyncGenerator<Row, { total: number }> {
    let made = 0;
    try {
      for (let id = 0; id < count; id++) {
        made++;
        yield { id, score: random(id * 7919), pid: process.pid };
      }
      return { total: count };
    } finally {
      // Runs in the child when the consumer stops early, too: clean up a cursor, a file, a connection.
      writeFileSync(doneMarker, `made ${made} rows`);
    }
  }
}

function random(seed: number): number {
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
