import type { Contender, Session, StartOptions } from './contenders/contender.js';
import type { Settings } from './settings.js';
import { summarize, type Summary } from './stats.js';
import type { Workload } from './workloads.js';

export interface Entry {
  readonly contender: Contender;
  readonly session: Session;
}

export interface Result {
  readonly workload: string;
  readonly contender: string;
  readonly summary: Summary;
}

/**
 * Interleaves contenders round by round in a fresh order each round, so drift in the machine
 * (thermal, noisy neighbours, GC) spreads over everyone instead of landing on one contender.
 * A shuffle rather than a rotation: a rotation keeps the same neighbour before each contender,
 * and whoever followed fork-per-call always paid for its exiting children.
 * The seed is fixed so that two runs take the same orders. With `warmupRound`, one extra first round is discarded.
 */
export async function runWorkload(
  workload: Workload,
  allEntries: readonly Entry[],
  settings: Settings,
  startOptions: StartOptions,
): Promise<Result[]> {
  const entries = allEntries.filter(
    (e) =>
      (!e.contender.workloads || e.contender.workloads.includes(workload.id)) &&
      (!workload.only || workload.only.includes(e.contender.id)),
  );
  const samples = new Map<string, number[]>(entries.map((e) => [e.contender.id, []]));
  const rounds = workload.rounds(settings);
  const first = settings.warmupRound ? -1 : 0;
  const random = seeded(0x5eed);
  for (let round = first; round < rounds; round++) {
    for (const entry of shuffled(entries, random)) {
      const value = await workload.measure({ ...entry, settings, startOptions });
      await entry.session.settle?.();
      if (round >= 0) samples.get(entry.contender.id)!.push(value);
    }
  }
  return entries.map(({ contender }) => ({
    workload: workload.id,
    contender: contender.id,
    summary: summarize(samples.get(contender.id)!),
  }));
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** mulberry32: a tiny deterministic PRNG. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
