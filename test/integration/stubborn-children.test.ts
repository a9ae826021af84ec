import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { configure, shutdown } from 'run-in-process';
import { fixture, fixtureUrl, isAlive } from '../helpers/fixtures.js';
import { runScript, startScript } from '../helpers/scripts.js';

// Children that ignore SIGTERM, and a parent whose stdout has gone: none of them may wedge, hang or
// end the parent.

type PooledModule = typeof import('../fixtures/src/pooled.js');
const { inPool } = await fixture<PooledModule>('standard', 'pooled');
const pooled = JSON.stringify(fixtureUrl('standard', 'pooled'));

after(() => shutdown());

test('children that ignore SIGTERM and retire after each call do not wedge the pool', async () => {
  configure('stubborn-children', { size: 2, recycleAfterCalls: 1 });
  const { stubborn } = inPool('stubborn-children');
  const pids: number[] = [];
  for (let i = 0; i < 12; i++) pids.push(await stubborn());
  assert.equal(new Set(pids).size, pids.length, 'each call ran on a fresh child');
  const concurrent = await Promise.all(Array.from({ length: 12 }, () => stubborn()));
  assert.equal(new Set(concurrent).size, concurrent.length);
});

test('await shutdown() resolves, and the script goes on to exit 0, when a child ignores SIGTERM', () => {
  const run = runScript(`
    const { inPool } = await import(${pooled});
    const { configure, shutdown } = await import('run-in-process');
    configure('stubborn-children', { size: 1 });
    const pid = await inPool('stubborn-children').stubborn();
    await shutdown();
    console.log('after shutdown', pid);`);
  assert.equal(run.status, 0, run.report);
  const [, pid] = run.stdout.trim().split(' ').slice(1);
  assert.match(run.stdout, /^after shutdown \d+/, run.report);
  assert.ok(!isAlive(Number(pid)), `child ${pid} was stopped`);
});

test('a parent whose stdout reader has gone survives what its children print', async () => {
  // As \`node app.mjs | head -c 10\`: the reader takes the first bytes, then closes the pipe.
  const parent = startScript(
    `const { inPool } = await import(${pooled});
     const { configure, shutdown } = await import('run-in-process');
     configure('closed-stdout', { size: 1 });
     for (let i = 0; i < 5; i++) await inPool('closed-stdout').chatty(2_000);
     await shutdown();
     process.stderr.write('the parent went on\\n');`,
  );
  let stderr = '';
  parent.stderr.on('data', (chunk) => (stderr += String(chunk)));
  parent.stdout.once('data', () => parent.stdout.destroy());
  const [code] = (await once(parent, 'exit')) as [number | null];
  assert.equal(code, 0, stderr);
  assert.match(stderr, /the parent went on/);
});

test("a child's output reaches a parent's stdout whose reader is slow, every line of it", async () => {
  // As \`node app.mjs | slow-consumer\`: the pipe is full for a while, and writes to it fail with EAGAIN.
  const parent = startScript(
    `const { inPool } = await import(${pooled});
     const { configure } = await import('run-in-process');
     configure('slow-reader', { size: 1 });
     await inPool('slow-reader').chatty(20_000);`,
  );
  let stderr = '';
  parent.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const closed = once(parent, 'close');
  parent.stdout.pause();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  let lines = 0;
  parent.stdout.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 10) lines++;
  });
  parent.stdout.resume();
  // 'close': it exited, and its output is all read.
  const [code] = (await closed) as [number | null];
  assert.equal(code, 0, stderr);
  assert.equal(lines, 20_000, 'every line the child printed');
});

test("what a call printed reaches the parent's stdout even when shutdown() stops its child right after", async () => {
  // The child's stdout is a socket, which Node writes to asynchronously: what waited in the child's
  // memory was lost with it (a few thousand lines of 100,000 arrived).
  const parent = startScript(
    `const { inPool } = await import(${pooled});
     const { configure, shutdown } = await import('run-in-process');
     configure('slow-reader', { size: 1 });
     await inPool('slow-reader').chatty(50_000);
     await shutdown();`,
  );
  let stderr = '';
  parent.stderr.on('data', (chunk) => (stderr += String(chunk)));
  let lines = 0;
  parent.stdout.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 10) lines++;
  });
  const [code] = (await once(parent, 'close')) as [number | null];
  assert.equal(code, 0, stderr);
  assert.equal(lines, 50_000, 'every line the child printed');
});

test("starting many children leaves the parent's stdout and stderr maxListeners as they were", async () => {
  configure('many-children', { size: 1, isolate: true });
  const before = [process.stdout.getMaxListeners(), process.stderr.getMaxListeners()];
  const { pid } = inPool('many-children');
  const pids = new Set<number>();
  for (let i = 0; i < 15; i++) pids.add(await pid());
  assert.equal(pids.size, 15, 'a child per call');
  assert.deepEqual([process.stdout.getMaxListeners(), process.stderr.getMaxListeners()], before);
});
