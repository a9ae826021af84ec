import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as copyB from 'rip2';
import * as copyA from 'run-in-process';
import { guarded, plain } from './across.js';
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

// A pool that copy A sandboxed, called through code declared with copy B: refused, not run
// unsandboxed in a pool of copy B's own. One that copy A configured without a sandbox: a warning.
const warnings: string[] = [];
process.on('warning', (warning) => warnings.push(warning.message));
copyA.configure('guarded', { permissions: { fsRead: [process.cwd()] } });
copyA.configure('plain', { size: 1 });
print(
  'across-sandboxed',
  await guarded().then(
    () => ({ ran: true }),
    (error: Error & { code?: string }) => ({ name: error.name, code: error.code, message: error.message }),
  ),
);
const plainPid = await plain();
await new Promise((resolve) => setImmediate(resolve));
print('across-plain', {
  ran: typeof plainPid === 'number',
  warning: warnings.find((text) => text.includes('"plain"')),
});
// shutdown() of one copy closes the other copy's pools too: their children are gone after it.
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const childrenOfB = [b.pid, plainPid];
print('before-shutdown', { aliveInB: childrenOfB.map(alive) });
await copyA.shutdown();
print('after-shutdown', { aliveInB: childrenOfB.map(alive) });
await Promise.all([copyA.shutdown(), copyB.shutdown()]);
print('shutdown', { done: true });
