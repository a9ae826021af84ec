import { runInProcess } from 'rip2';

/** Declared through copy B, for pools that only copy A configured (main.ts). */
export const guarded = runInProcess(
  async function guarded() {
    return process.pid;
  },
  { pool: 'guarded' },
);

export const plain = runInProcess(
  async function plain() {
    return process.pid;
  },
  { pool: 'plain' },
);
