import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Contender, Op } from './contender.js';
import { rawChildPath } from './raw-fork.js';

/**
 * The naive decorator: a fresh process per call, resolved on the reply (not on exit).
 * Its child imports nothing, so this is the cheapest possible fork-per-call and the
 * "faster than fork-per-call" ratio is a lower bound.
 */
export const forkPerCall: Contender = {
  id: 'fork-per-call',
  label: 'fork per call',
  slow: true,
  async start() {
    const live = new Set<ChildProcess>();
    const exited = async () => {
      await Promise.all(
        [...live].map((c) => (c.exitCode === null && c.signalCode === null ? once(c, 'exit') : undefined)),
      );
    };
    return {
      async call(op: Op, arg: unknown) {
        const child = fork(rawChildPath, [], { serialization: 'advanced' });
        live.add(child);
        child.once('exit', () => live.delete(child));
        const reply = once(child, 'message');
        child.send({ id: 0, op, arg });
        const [m] = (await reply) as [{ value: unknown }];
        child.disconnect();
        return m.value;
      },
      // Children exit after their reply; without this the next contender would be timed while they tear down.
      settle: exited,
      close: exited,
    };
  },
};
