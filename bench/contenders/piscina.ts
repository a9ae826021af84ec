import { Piscina } from 'piscina';
import type { Contender, Op } from './contender.js';

const child = new URL('./piscina-child.cjs', import.meta.url).href;

/** Reference point only: worker threads, no process boundary, so no crash isolation. */
export const piscinaThreads: Contender = {
  id: 'piscina',
  label: 'piscina (threads)',
  async start({ size }) {
    const pool = new Piscina({ filename: child, minThreads: size, maxThreads: size });
    return {
      call: (op: Op, arg: unknown) => pool.run({ op, arg }),
      close: () => pool.destroy(),
    };
  },
};
