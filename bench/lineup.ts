import type { Contender } from './contenders/contender.js';
import { forkPerCall } from './contenders/fork-per-call.js';
import { piscinaThreads } from './contenders/piscina.js';
import { poolifierCluster, poolifierThreads } from './contenders/poolifier.js';
import { rawBatchJson, rawBatchPerBatch, rawBatchPerCall, rawBatchPipe } from './contenders/raw-batch.js';
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
/** The ceiling tiny calls in bulk are held to: the library's batches, answered call by call, with no pool logic. */
export const ceilingId = rawBatchPerCall.id;

export async function loadLineup(size: number, baselinesOnly: boolean, only?: readonly string[]): Promise<Lineup> {
  const rip = baselinesOnly ? undefined : await loadRunInProcessOrExplain(size);
  const all = [
    rawFork,
    rawForkOneInFlight,
    rawBatchPerCall,
    rawBatchPerBatch,
    rawBatchJson,
    rawBatchPipe,
    rawTinypool,
    rawStream,
    ...(rip?.contenders ?? []),
    workerpoolProcess,
    poolifierCluster,
    piscinaThreads,
    poolifierThreads,
    forkPerCall,
  ];
  return {
    contenders: all.filter(
      (c) => !only || c === rawFork || c === rawTinypool || c === rawBatchPerCall || only.includes(c.id),
    ),
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
