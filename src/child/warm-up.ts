import type { BatchControl, ChildNotice, TaskResult } from '../protocol.js';
import { decodeControl, encodeControl } from '../shared/control-frames.js';
import { FrameReader } from '../shared/frames.js';
import { encodeNotice } from '../shared/notice-frames.js';
import { CallRunner } from './call-runner.js';
import { importOnce } from './module-cache.js';
import { pingCalls } from './ping.js';
import { resolveTarget } from './resolve-target.js';
import { onBatchControl, runBatch } from './run-batch.js';
import { knownTargets } from './target-keys.js';

/**
 * Rounds of pings a child runs in its warm-up: each round is one ping of each kind (ping.ts). A
 * young child's code runs in V8's interpreter until it has run often enough to be compiled better.
 * Measured here (bench/analysis.md, eighth pass): with one round, the first three calls after
 * warmUp() took 270–290, 255–260 and ~200 µs; with 200 rounds, 190–215, 130–165 and 130–150 µs,
 * for ~12 ms more of the warm-up than 50 rounds (which gave ~215, ~160 and ~150 µs).
 */
const rounds = 200;

/**
 * What a child of a warm pool does before the parent counts it warm (a `WarmTask`). Booted and with
 * its `preload` imported, it still has its call path to compile and to teach V8. So it runs the
 * no-op calls of ping.ts through that path as the parent's calls take it, in process: each comes as
 * a control frame of an open batch (decoded as the control pipe's are), runs, and its answer is
 * laid out as a notice frame, which is not written (the parent is not waiting for it). It waits for
 * its watchdog thread first, whose boot would otherwise share the CPUs with the first call.
 */
export async function warmUp(watchdogStarted: Promise<void>): Promise<TaskResult> {
  await watchdogStarted;
  // A runner of its own leaves the settings of the batches it may run beside alone.
  const runner = new CallRunner();
  // Batch id 0 is never one of the parent's (pool/batch.ts).
  let answered: (() => void) | undefined;
  const notify = (notice: ChildNotice): void => {
    encodeNotice(notice);
    if (notice[0] === 'run-in-process:answer') answered?.();
  };
  const reader = new FrameReader((body) => onBatchControl(decodeControl(body)));
  const send = (message: BatchControl) => reader.push(Buffer.concat(encodeControl(message)));
  let open = true;
  const batch = runBatch(['batch', 0, [], true, undefined], runner, notify).finally(() => (open = false));
  for (let round = 0; round < rounds && open; round++) {
    for (const ping of pingCalls()) {
      // A batch stops after a call slower than a millisecond (run-batch.ts): what is left of the
      // warm-up then has nowhere to go.
      if (!open) break;
      const answer = new Promise<void>((resolve) => (answered = resolve));
      send(['run-in-process:append', 0, [ping]]);
      await Promise.race([answer, batch]);
    }
  }
  send(['run-in-process:close', 0]);
  await batch;
  await findTargets();
  return ['warmed'];
}

/**
 * Finds the code of each target the preloaded modules declare, as a first call to it would (its
 * class, and its constructor, looked for among the module's exports where the decorators could not
 * see it), without calling anything: a few µs less on the first call to each here. A target that
 * cannot be found is left for its call to say so.
 */
async function findTargets(): Promise<void> {
  for (const target of knownTargets()) {
    try {
      resolveTarget(target, await importOnce(target.module), undefined);
    } catch {}
  }
}
