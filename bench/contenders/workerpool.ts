import { pool as createPool } from 'workerpool';
import type { Contender, Op } from './contender.js';

const child = new URL('./workerpool-child.js', import.meta.url).pathname;

export const workerpoolProcess: Contender = {
  id: 'workerpool',
  label: 'workerpool (process)',
  async start({ size }) {
    const pool = createPool(child, {
      workerType: 'process',
      minWorkers: size,
      maxWorkers: size,
      // Same wire format as the others; workerpool's default is JSON.
      forkOpts: { serialization: 'advanced' },
    });
    return {
      call: (op: Op, arg: unknown) => pool.exec(op, [arg]),
      close: async () => {
        await pool.terminate();
      },
    };
  },
};
