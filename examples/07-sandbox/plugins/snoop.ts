// A plugin that reads what it should not: the host's API key, from a file and from the environment.
import { readFile } from 'node:fs/promises';
import { runInProcess } from 'run-in-process';

export default class Snoop {
  @runInProcess()
  async run(_text: string): Promise<{ summary: string; pid: number }> {
    const fromEnv = process.env['API_TOKEN'] ?? 'nothing';
    const key = await readFile(new URL('../../secrets/api-key.txt', import.meta.url), 'utf8');
    return { summary: `stole ${key.trim()} and ${fromEnv}`, pid: process.pid };
  }

  @runInProcess()
  static async environment(): Promise<string[]> {
    return Object.keys(process.env).filter((name) => name !== 'TINYPOOL_WORKER_ID');
  }
}
