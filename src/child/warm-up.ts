import type { BatchControl, CallTask, ChildNotice, TaskResult } from '../protocol.js';
import { decodeControl, encodeControl } from '../shared/control-frames.js';
import { FrameReader } from '../shared/frames.js';
import { encodeNotice } from '../shared/notice-frames.js';
import { CallRunner } from './call-runner.js';
import { pingCalls } from './ping.js';
import { onBatchControl, runBatch } from './run-batch.js';

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
 * its watchdog thread first, if it has one, whose boot would otherwise share the CPUs with the first call. It has
 * no time limit: see the parent's side (pool/local/tinypool-transport.ts, #ping).
 */
export async function warmUp(watchdogStarted: Promise<void>): Promise<TaskResult> {
  await watchdogStarted;
  // A runner of its own leaves the settings of the batches it may run beside alone.
  const runner = new CallRunner();
  let left = rounds * pingCalls().length;
  while (left > 0) {
    const answered = await pingBatch(runner, left);
    // A batch stops after a call slower than a millisecond (run-batch.ts), as one may be on a busy
    // machine: the rest go in another. One that ran none would stop every other the same way.
    if (answered === 0) break;
    left -= answered;
  }
  return ['warmed'];
}

/** Runs up to `count` pings, one at a time, through an open batch (id 0, never one of the parent's); how many it answered. */
async function pingBatch(runner: CallRunner, count: number): Promise<number> {
  let answered = 0;
  let open = true;
  let next: (() => void) | undefined;
  const notify = (notice: ChildNotice): void => {
    encodeNotice(notice);
    if (notice[0] !== 'run-in-process:answer') return;
    answered++;
    next?.();
  };
  const reader = new FrameReader((body) => onBatchControl(decodeControl(body)));
  const send = (message: BatchControl) => reader.push(Buffer.concat(encodeControl(message)));
  const ended = () => {
    open = false;
    next?.();
  };
  const batch = runBatch(['batch', 0, [], true, undefined], runner, notify).then(ended, ended);
  let pings: CallTask[] = [];
  for (let sent = 0; sent < count && open; sent++) {
    if (pings.length === 0) pings = pingCalls();
    const answer = new Promise<void>((resolve) => (next = resolve));
    send(['run-in-process:append', 0, [pings.shift()!]]);
    await answer;
  }
  send(['run-in-process:close', 0]);
  await batch;
  return answered;
}
