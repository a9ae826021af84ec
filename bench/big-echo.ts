import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Result } from './runner.js';
import type { PeakMemory } from './workloads.js';

export interface BigEchoRun {
  readonly results: readonly Result[];
  readonly peaks: readonly PeakMemory[];
}

/**
 * Re-executes this harness for the large echo alone, in a fresh process whose allocator hands
 * every large block back to the kernel when it is freed (glibc: a fixed `MALLOC_MMAP_THRESHOLD_`).
 * In the main process, pages freed by earlier workloads stay resident and are reused, so its rss
 * does not grow by what a call allocates, and its peak says nothing about copies.
 */
export async function runBigEcho(forwardedArgs: readonly string[]): Promise<BigEchoRun> {
  const dir = mkdtempSync(join(tmpdir(), 'rip-bench-'));
  const file = join(dir, 'big-echo.json');
  try {
    const child = spawn(
      process.execPath,
      [...process.execArgv, process.argv[1]!, ...forwardedArgs, `--big-echo=${file}`],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, MALLOC_MMAP_THRESHOLD_: String(128 * 1024) },
      },
    );
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    if (code !== 0) throw new Error(`large-echo sub-run failed (exit code ${code}, signal ${signal})`);
    return JSON.parse(readFileSync(file, 'utf8')) as BigEchoRun;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
