import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Contender, Op, Session, StartOptions } from './contender.js';
import { disconnectAll } from './disconnect-all.js';

export const rawChildPath = fileURLToPath(new URL('./raw-child.js', import.meta.url));

interface Reply {
  readonly id: number;
  readonly value: unknown;
}

interface Call {
  readonly id: number;
  readonly op: Op;
  readonly arg: unknown;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

interface Lane {
  readonly child: ChildProcess;
  inFlight: number;
}

/**
 * `size` forked children, `serialization: 'advanced'`, no pool logic. A call goes to the least
 * busy child; with `window` = Infinity nothing is ever held back, so under load each child has
 * (calls in flight ÷ size) messages queued on its pipe. With `window` = 1 calls wait for a free
 * child, like a pool that runs one task per child.
 */
async function startRawFork({ size, coldImport, cold }: StartOptions, window: number): Promise<Session> {
  const pending = new Map<number, Call>();
  const queue: Call[] = [];
  const lanes: Lane[] = [];
  let closing = false;
  let nextId = 0;

  const dispatch = (call: Call): boolean => {
    const lane = lanes.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    if (lane.inFlight >= window) return false;
    lane.inFlight++;
    pending.set(call.id, call);
    lane.child.send({ id: call.id, op: call.op, arg: call.arg });
    return true;
  };

  for (let i = 0; i < (cold ? 1 : size); i++) {
    const lane: Lane = {
      child: fork(rawChildPath, coldImport ? [coldImport] : [], { serialization: 'advanced' }),
      inFlight: 0,
    };
    lane.child.on('message', (m: Reply) => {
      const call = pending.get(m.id);
      pending.delete(m.id);
      lane.inFlight--;
      call?.resolve(m.value);
      if (queue.length > 0) dispatch(queue.shift()!);
    });
    lane.child.on('exit', (code, signal) => {
      if (closing) return;
      for (const call of [...pending.values(), ...queue])
        call.reject(new Error(`raw child exited (code ${code}, signal ${signal})`));
      pending.clear();
      queue.length = 0;
    });
    lanes.push(lane);
  }

  return {
    call(op, arg) {
      return new Promise((resolve, reject) => {
        const call = { id: nextId++, op, arg, resolve, reject };
        if (!dispatch(call)) queue.push(call);
      });
    },
    async close() {
      closing = true;
      await disconnectAll(lanes.map((lane) => lane.child));
    },
  };
}

/** The physical limit every ratio is taken against. */
export const rawFork: Contender = {
  id: 'raw-fork',
  label: 'raw fork IPC (limit)',
  start: (options) => startRawFork(options, Infinity),
};

/** Throughput only: separates what pipelining buys from what pool bookkeeping costs. */
export const rawForkOneInFlight: Contender = {
  id: 'raw-fork-1',
  label: 'raw fork IPC, 1 in flight per child',
  workloads: ['throughput'],
  start: (options) => startRawFork(options, 1),
};
