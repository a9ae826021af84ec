import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Contender } from './contender.js';

const childPath = fileURLToPath(new URL('./raw-stream-child.js', import.meta.url));

interface Message {
  readonly id: number;
  readonly item?: unknown;
  readonly value?: unknown;
}

/**
 * The limit for streaming: one forked child (`serialization: 'advanced'`) that sends every item
 * as its own IPC message, with no backpressure and no pool logic; the parent counts them.
 */
export const rawStream: Contender = {
  id: 'raw-stream',
  label: 'raw child_process loop, items sent',
  workloads: ['stream'],
  async start() {
    const child = fork(childPath, [], { serialization: 'advanced' });
    const pending = new Map<number, { resolve(value: unknown): void; received: number }>();
    let nextId = 0;
    child.on('message', (m: Message) => {
      const call = pending.get(m.id);
      if (!call) return;
      if ('item' in m) {
        call.received++;
        return;
      }
      pending.delete(m.id);
      call.resolve(call.received > 0 ? call.received : m.value);
    });
    return {
      call(op, arg) {
        return new Promise((resolve) => {
          const id = nextId++;
          pending.set(id, { resolve, received: 0 });
          child.send({ id, op, arg });
        });
      },
      async close() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.disconnect();
        await exited;
      },
    };
  },
};
