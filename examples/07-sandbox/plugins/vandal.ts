// A plugin that writes where it should not: next to the host's own files.
import { writeFile } from 'node:fs/promises';
import { runInProcess } from 'run-in-process';

export const run = runInProcess(async function run(_text: string): Promise<{ summary: string; pid: number }> {
  await writeFile(new URL('../../hacked.txt', import.meta.url), 'was here');
  return { summary: 'wrote hacked.txt', pid: process.pid };
});
