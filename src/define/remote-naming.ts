import { refuseUnnamed, remotePools } from '../call/pools.js';

/**
 * At definition time, a target of a pool that is remote already must be nameable on another
 * machine (in a package, or with an id). Checked once its name is settled: after a wrapped function
 * is registered, after a class decorator (which runs after its methods' and may give them an id
 * or a pool). A method of a class with no class decorator is checked at its first call, since a
 * method decorator cannot know whether a class decorator follows.
 */
export function refuseUnnamedIn(moduleUrl: string): void {
  for (const pool of remotePools()) refuseUnnamed(pool, moduleUrl);
}
