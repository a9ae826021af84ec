import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Result } from './runner.js';

export const pinnedWorkloadId = 'tiny-latency-pinned';

/**
 * Re-executes this harness under `taskset -c 0` for the latency workload only. Children inherit
 * the affinity, so the whole round trip happens on one CPU.
 * Returns undefined where taskset is missing (macOS, minimal containers).
 */
export async function runPinned(forwardedArgs: readonly string[]): Promise<Result[] | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'rip-bench-'));
  const file = join(dir, 'pinned.json');
  try {
    const child = spawn(
      'taskset',
      [
        '-c',
        '0',
        process.execPath,
        ...process.execArgv,
        process.argv[1]!,
        ...forwardedArgs,
        `--pinned-latency=${file}`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const [code, signal] = (await Promise.race([
      once(child, 'exit'),
      once(child, 'error').then(([e]) => Promise.reject(e as Error)),
    ]).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [null, 'ENOENT'];
      throw e;
    })) as [number | null, string | null];
    if (signal === 'ENOENT') return undefined;
    if (code !== 0) throw new Error(`pinned sub-run failed (exit code ${code}, signal ${signal})`);
    const results = JSON.parse(readFileSync(file, 'utf8')) as Result[];
    return results.map((r) => ({ ...r, workload: pinnedWorkloadId }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
