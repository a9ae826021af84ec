import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageOf } from '../shared/module-identity.js';

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
  if (!file) return 'unversioned';
  return packageOf(dirname(file.startsWith('file:') ? fileURLToPath(file) : resolve(file)))?.version ?? 'unversioned';
}

/** BullMQ refuses `:` in a queue name; the pool and the build are joined by `@`. */
export function queueNameOf(pool: string, buildId: string): string {
  return `${pool}@${buildId}`.replaceAll(':', '_');
}
