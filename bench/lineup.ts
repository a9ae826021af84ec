import type { Contender } from './contenders/contender.js';
import { forkPerCall } from './contenders/fork-per-call.js';
import { piscinaThreads } from './contenders/piscina.js';
import { rawFork, rawForkOneInFlight } from './contenders/raw-fork.js';
import { rawStream } from './contenders/raw-stream.js';
import { loadRunInProcess } from './contenders/run-in-process.js';
import { rawTinypool } from './contenders/tinypool.js';
import { workerpoolProcess } from './contenders/workerpool.js';

export interface Lineup {
  readonly contenders: readonly Contender[];
  readonly coldImport: string | undefined;
  shutdown(): Promise<void>;
}

export const limitId = rawFork.id;
export const tinypoolId = rawTinypool.id;
export const rawStreamId = rawStream.id;

export async function loadLineup(size: number, baselinesOnly: boolean, only?: readonly string[]): Promise<Lineup> {
  const rip = baselinesOnly ? undefined : await loadRunInProcessOrExplain(size);
  const all = [
    rawFork,
    rawForkOneInFlight,
    rawTinypool,
    rawStream,
    ...(rip?.contenders ?? []),
    workerpoolProcess,
    piscinaThreads,
    forkPerCall,
  ];
  return {
    contenders: all.filter((c) => !only || c === rawFork || c === rawTinypool || only.includes(c.id)),
    coldImport: rip?.targetsUrl,
    shutdown: rip?.shutdown ?? (async () => {}),
  };
}

async function loadRunInProcessOrExplain(size: number): ReturnType<typeof loadRunInProcess> {
  try {
    return await loadRunInProcess(size);
  } catch (error) {
    throw new Error(
      'Cannot load run-in-process. Build it first (`npm run build` at the repository root), ' +
        'or pass --baselines-only to measure the other contenders alone.',
      { cause: error },
    );
  }
}
