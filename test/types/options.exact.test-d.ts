// Under exactOptionalPropertyTypes (TypeScript 7's `tsc --init` turns it on), an option given as
// undefined is as if left out, as it is at run time: `{ timeout: undefined }` compiles.
import { configure, type PoolOptions, runInProcess, shutdown, withCallOptions } from 'run-in-process';

const timeout: number | undefined = process.env['TIMEOUT'] ? Number(process.env['TIMEOUT']) : undefined;
const pool: PoolOptions = { size: undefined, timeout, maxQueue: undefined, env: undefined, permissions: undefined };
configure('exact', pool);
export const wrapped = runInProcess(async function wrapped() {}, { timeout, pool: undefined, priority: undefined });
export class Exact {
  @runInProcess({ timeout, retries: undefined, stream: undefined })
  async run(): Promise<void> {}
}
await withCallOptions({ timeout, signal: undefined }, () => wrapped());
await shutdown({ deadline: undefined });
