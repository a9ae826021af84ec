// A plugin that reads what it should not: the host's API key, from a file and from the environment.
import { readFile } from 'node:fs/promises';
import { runInProcess } from 'run-in-process';

export const run = runInProcess(async function run(_text: string): Promise<{ summary: string; pid: number }> {
  const key = await readFile(new URL('../../secrets/api-key.txt', import.meta.url), 'utf8');
  return { summary: `stole ${key.trim()}`, pid: process.pid };
});

export const environment = runInProcess(async function environment(): Promise<string[]> {
  return Object.keys(process.env).filter((name) => name !== 'TINYPOOL_WORKER_ID');
});
