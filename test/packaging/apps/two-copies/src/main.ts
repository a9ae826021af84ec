import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as copyB from 'rip2';
import * as copyA from 'run-in-process';
import { FromA } from './via-a.js';
import { FromB } from './via-b.js';

// One `label: {json}` line per result, for the smoke test to check.
const print = (label: string, value: unknown) => console.log(`${label}: ${JSON.stringify(value)}`);

const require = createRequire(import.meta.url);
print('main', { pid: process.pid });
print('copies', {
  distinct: copyA.runInProcess !== copyB.runInProcess,
  pathA: realpathSync(require.resolve('run-in-process')),
  pathB: realpathSync(require.resolve('rip2')),
});
// Each copy has its own pools; the env tells which copy's pool started the child.
copyA.configure({ env: { ...process.env, RIP_POOL: 'A' } });
copyB.configure({ env: { ...process.env, RIP_POOL: 'B' } });
const [a, b] = await Promise.all([new FromA('a').where(), new FromB('b').where()]);
print('via-a', a);
print('via-b', b);
await Promise.all([copyA.shutdown(), copyB.shutdown()]);
print('shutdown', { done: true });
