import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The remote section starts processes that outlive a crashed or interrupted bench unless someone
 * kills them: redis-server and the workers are in no pool. Every one is recorded here and killed by
 * its pid: by its `stop()`, and as a last resort when this process exits, fails or is interrupted.
 */
const alive = new Set<ChildProcess>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  // 'exit' handlers run synchronously: a SIGKILL is all there is time for.
  process.once('exit', () => {
    for (const child of alive) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of alive) child.kill('SIGKILL');
      process.exit(130);
    });
  }
}

export interface Reaped {
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns a process that is killed when the bench ends, however it ends. */
export function spawnReaped(command: string, args: readonly string[], options: SpawnOptions = {}): Reaped {
  hook();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  alive.add(child);
  child.once('exit', () => alive.delete(child));
  let output = '';
  child.stdout?.on('data', (chunk) => (output += String(chunk)));
  child.stderr?.on('data', (chunk) => (output += String(chunk)));
  const exited = once(child, 'exit');
  return {
    child,
    output: () => output,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves once `pattern` appears in its output; rejects if it exits first or takes over `ms`. */
export async function readyLine(process: Reaped, pattern: RegExp, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(process.output())) {
    if (process.child.exitCode !== null || process.child.signalCode !== null)
      throw new Error(`${what} exited before it was ready:\n${process.output()}`);
    if (Date.now() > deadline) throw new Error(`${what} was not ready within ${ms} ms:\n${process.output()}`);
    await sleep(20);
  }
}
