// Child side of the batched raw ceilings: a message is a batch of calls, run one after another.
// argv[2] = 'per-call': each call answered by its own message the moment it finishes (the library's semantics);
// 'per-batch': one message with every answer once the whole batch has run.
import type { Op } from './contender.js';

/** [id, op, arg]: the smallest a call can travel as. */
type Call = readonly [id: number, op: Op, arg: unknown];

const send = process.send!.bind(process);
const perBatch = process.argv[2] === 'per-batch';
const run = ([, op, arg]: Call): unknown => (op === 'tiny' ? (arg as number) + 1 : arg);

process.on('message', (batch: readonly Call[]) => {
  if (perBatch) {
    send(batch.map(run));
    return;
  }
  for (const call of batch) send([call[0], run(call)]);
});
