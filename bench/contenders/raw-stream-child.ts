// Child side of the raw streaming loop: answers tiny and echo as the raw child does, and for
// `stream` sends `arg` items, one IPC message each, as fast as it can, then a final reply.
import { streamItem } from './stream-item.js';

interface Request {
  readonly id: number;
  readonly op: 'tiny' | 'echo' | 'stream';
  readonly arg: unknown;
}

const send = process.send!.bind(process);

process.on('message', (m: Request) => {
  if (m.op !== 'stream') {
    send({ id: m.id, value: m.op === 'tiny' ? (m.arg as number) + 1 : m.arg });
    return;
  }
  const count = m.arg as number;
  for (let i = 0; i < count; i++) send({ id: m.id, item: streamItem(i) });
  send({ id: m.id, value: count });
});
