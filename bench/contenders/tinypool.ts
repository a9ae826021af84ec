import { Tinypool } from 'tinypool';
import type { Contender, Op } from './contender.js';

const poolChild = new URL('./pool-child.js', import.meta.url).href;

/** Plain tinypool as run-in-process would drive it: child_process runtime, advanced serialization, all children up front. */
export const rawTinypool: Contender = {
  id: 'tinypool',
  label: 'raw tinypool run()',
  async start({ size }) {
    const pool = new Tinypool({
      filename: poolChild,
      runtime: 'child_process',
      serialization: 'advanced',
      minThreads: size,
      maxThreads: size,
      // tinypool gives child_process workers an empty environment otherwise; fork() inherits it.
      env: { ...process.env } as Record<string, string>,
    });
    return {
      call: (op: Op, arg: unknown) => pool.run({ op, arg }),
      close: () => pool.destroy(),
    };
  },
};
