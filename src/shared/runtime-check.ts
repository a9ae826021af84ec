import { RunInProcessError } from '../errors.js';

/**
 * Children are Node processes that talk over Node's IPC with its 'advanced' serialization, which
 * Bun's and Deno's IPC cannot read. Said at import, rather than as an obscure failure on the first call.
 */
const runtime = (process.versions as { bun?: string }).bun
  ? `Bun ${(process.versions as { bun?: string }).bun}`
  : typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined'
    ? 'Deno'
    : undefined;

if (runtime !== undefined) {
  throw new RunInProcessError(
    `run-in-process runs on Node.js (≥ 20.19), not on ${runtime}: its child processes talk to the parent over ` +
      `Node's IPC channel with its 'advanced' serialization, which ${runtime} cannot speak. Run this app with node.`,
  );
}
