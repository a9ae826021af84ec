import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Queues are named per build, so that during a rolling deploy old callers reach old workers and new
 * callers new ones. The build is, in order: the transport's `buildId` option, the variable
 * RUN_IN_PROCESS_BUILD_ID, or the `version` of the package that holds `file` (a caller: its entry
 * script; a worker: the first module it serves).
 */
export function buildIdFor(option: string | undefined, file: string | undefined): string {
  if (option !== undefined) return option;
  const fromEnvironment = process.env['RUN_IN_PROCESS_BUILD_ID'];
  if (fromEnvironment) return fromEnvironment;
  return (file && versionAbove(file.startsWith('file:') ? fileURLToPath(file) : resolve(file))) ?? 'unversioned';
}

function versionAbove(file: string): string | undefined {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    try {
      const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown; version?: unknown };
      if (typeof name === 'string' && typeof version === 'string') return version;
    } catch {
      // Not a package.json we can read: look further up.
    }
  }
  return undefined;
}

/** BullMQ refuses `:` in a queue name; the pool and the build are joined by `@`. */
export function queueNameOf(pool: string, buildId: string): string {
  return `${pool}@${buildId}`.replaceAll(':', '_');
}
