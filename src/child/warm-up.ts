import type { BatchTask, TaskResult } from '../protocol.js';
import { CallRunner } from './call-runner.js';
import { pingCalls } from './ping.js';
import { runBatch } from './run-batch.js';

/**
 * What a child of a warm pool does before the parent counts it warm (a `WarmTask`). Booted and with
 * its `preload` imported, it still has its call path to compile: V8 compiles a function the first
 * time it runs, and a first call through the batch, call and answer code took ~0.7 ms here, against
 * ~0.03 ms warm (bench/analysis.md). So the child runs the no-op calls of ping.ts through that code,
 * after waiting for its watchdog thread, whose boot would otherwise share the CPUs with the first call.
 */
export async function warmUp(watchdogStarted: Promise<void>): Promise<TaskResult> {
  await watchdogStarted;
  // A runner of its own leaves the settings of the batches it may run beside alone.
  // A batch per ping: one batch would stop after a first ping slower than a millisecond (run-batch.ts).
  // Batch id 0 is never one of the parent's (pool/batch.ts).
  const runner = new CallRunner();
  for (const ping of pingCalls())
    await runBatch(['batch', 0, [ping], false, undefined] satisfies BatchTask, runner, () => {});
  return ['warmed'];
}
