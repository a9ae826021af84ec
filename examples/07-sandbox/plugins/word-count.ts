// A well-behaved plugin: it only needs its arguments. A plugin exports `run`, wrapped by
// runInProcess: the host never imports this file, its sandboxed children do.
import { runInProcess } from 'run-in-process';

export const run = runInProcess(async function run(text: string): Promise<{ summary: string; pid: number }> {
  return { summary: `${text.split(/\s+/).filter(Boolean).length} words`, pid: process.pid };
});
