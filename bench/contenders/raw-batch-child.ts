// Child side of the batched raw ceilings: a message is a batch of calls, run one after another.
// argv[2] = 'per-call': each call answered by its own message the moment it finishes (the library's semantics);
// 'per-batch': one message with every answer once the whole batch has run; 'per-call-pipe': each
// answer as two float64s (id, value) written on fd 4, a pipe beside the IPC channel.
import { writeSync } from 'node:fs';
import type { Op } from './contender.js';

/** [id, op, arg]: the smallest a call can travel as. */
type Call = readonly [id: number, op: Op, arg: unknown];

const send = process.send!.bind(process);
const perBatch = process.argv[2] === 'per-batch';
const run = ([, op, arg]: Call): unknown => (op === 'tiny' ? (arg as number) + 1 : arg);

const onPipe = process.argv[2] === 'per-call-pipe';
const frame = Buffer.alloc(16);

process.on('message', (batch: readonly Call[]) => {
  if (onPipe) {
    for (const call of batch) {
      frame.writeDoubleLE(call[0], 0);
      frame.writeDoubleLE(run(call) as number, 8);
      writeSync(4, frame);
    }
    return;
  }
  if (perBatch) {
    send(batch.map(run));
    return;
  }
  for (const call of batch) send([call[0], run(call)]);
});
