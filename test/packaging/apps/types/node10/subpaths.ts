// A CommonJS app on TypeScript 5: its imports resolve as Node 10 did, without `exports`.
import { configure, runInProcess } from 'run-in-process';
import { bullmq, serve } from 'run-in-process/bullmq';
import { runInProcess as vitestPlugin } from 'run-in-process/vitest';

export const add = runInProcess(async function add(a: number, b: number) {
  return a + b;
});
export const sum: Promise<number> = add(1, 2);
configure('remote', { transport: bullmq({ connection: 'redis://127.0.0.1:6379' }) });
export const serving: typeof serve = serve;
export const plugin: ReturnType<typeof vitestPlugin> = vitestPlugin();
