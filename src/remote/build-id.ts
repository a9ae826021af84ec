import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { usageError } from '../errors.js';
import { packageOf } from '../shared/module-identity.js';
import { firstModuleOf } from '../shared/remote-key.js';

/**
 * Queues are named per build, so that during a rolling deploy old callers reach old workers and new
 * callers new ones. The build is, in order: the transport's `buildId` option, the variable
 * RUN_IN_PROCESS_BUILD_ID, or the `version` of the package that holds `file` (a caller: its entry
 * script, see callerFile; a worker: the first module it serves).
 */
export function buildIdFor(option: string | undefined, file: string | undefined): string {
  if (option !== undefined) return option;
  const fromEnvironment = process.env['RUN_IN_PROCESS_BUILD_ID'];
  if (fromEnvironment) return fromEnvironment;
  if (!file) return 'unversioned';
  return packageOf(dirname(file.startsWith('file:') ? fileURLToPath(file) : resolve(file)))?.version ?? 'unversioned';
}

/**
 * The file whose package names a caller's build: its entry script, unless that belongs to a tool
 * that runs the app (vitest, mocha, pm2, an app run by `npx`: a path under `node_modules`) or there
 * is none (a REPL, `node -e`). Then the first module that declares a target of the pool, as for a
 * worker (the tool's version would name a build no worker of the app serves), or else the
 * working directory.
 */
export function callerFile(pool: string): string {
  const entry = process.argv[1];
  if (entry && !/[\\/]node_modules[\\/]/.test(entry)) return entry;
  return firstModuleOf(pool) ?? resolve('package.json');
}

/**
 * The queue of a pool's calls for a build: `<pool>@<build>`. BullMQ refuses `:` in a queue name,
 * and `@` joins the two: a name or build with either would share a queue with another (`a:b` and
 * `a_b`, pool `r` of build `x@y` and pool `r@x` of build `y`), so both are refused.
 */
export function queueNameOf(pool: string, buildId: string): string {
  checkQueuePart('pool name', pool);
  checkQueuePart('build id', buildId);
  return `${pool}@${buildId}`;
}

/** Whether a pool name or build id would share a queue with another (see queueNameOf). */
export function namesAnotherQueue(value: string): boolean {
  return /[:@]/.test(value);
}

function checkQueuePart(what: string, value: string): void {
  if (namesAnotherQueue(value)) {
    throw usageError(
      `A remote pool's ${what} cannot contain ':' or '@' (got '${value}'): they would name another pool's queue. ` +
        `Use letters, digits, '.', '-' or '_'.`,
    );
  }
}
