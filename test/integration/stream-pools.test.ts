import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { configure, PoolClosedError, shutdown, stats } from 'run-in-process';
import { CallLog } from '../helpers/call-log.js';
import { fixture, fixtureUrl, scratchFile, waitFor } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { runScript } from '../helpers/scripts.js';

// Streams in a pool (issue #13, point 5): a stream holds its child for its whole life, counts
// against the pool's capacity, is never batched with other calls, and meets a shutdown.

type PooledModule = typeof import('../fixtures/src/pooled.js');
const { inPool } = await fixture<PooledModule>('standard', 'pooled');

after(() => shutdown());

test('a stream holds its child for its whole life: a call made meanwhile waits, then runs after it', async () => {
  configure('stream-capacity', { size: 1 });
  const { stream, step } = inPool('stream-capacity');
  const log = new CallLog();
  const release = scratchFile('release');
  const items = stream(log.path, 3, release);
  assert.equal((await items.next()).value, 0);
  const waiting = step(log.path, 100, 'value');
  assert.equal(stats('stream-capacity').queued, 1, 'the call waits: the only slot is the stream’s');
  assert.equal(stats('stream-capacity').running, 1);
  writeFileSync(release, '');
  assert.deepEqual(await collect(items), [1, 2]);
  const { pid } = await waiting;
  const order = log.entries().map((entry) => entry.id);
  assert.deepEqual(order, [0, 1, 2, -1, 100], 'the call ran only after the stream ended');
  assert.ok(
    log.entries().every((entry) => entry.pid === pid),
    'in the same child, the only one',
  );
});

test('shutdown with a stream open: next() rejects with PoolClosedError after the deadline; its finally runs', async () => {
  configure('stream-shutdown', { size: 1 });
  const { stream } = inPool('stream-shutdown');
  const log = new CallLog();
  const release = scratchFile('release');
  const items = stream(log.path, 3, release);
  assert.equal((await items.next()).value, 0);
  const pending = items.next();
  const closing = shutdown({ deadline: 200 });
  const error = await rejectionOf(pending, PoolClosedError);
  assert.match(error.message, /shutdown deadline/);
  // The child was told to stop: at its next yield it does, and its finally runs.
  writeFileSync(release, '');
  await closing;
  assert.ok((await waitFor(() => log.entries().some((entry) => entry.id === -1), 5_000)) !== undefined);
  assert.deepEqual(await items.next(), { done: true, value: undefined });
});

test('a stream dropped half-read is stopped when it is garbage-collected: its finally runs, and the process can exit', () => {
  const marker = scratchFile('dropped-stream');
  const run = runScript(
    `const { Exporter } = await import(${JSON.stringify(fixtureUrl('standard', 'streams'))});
     async function firstOnly() {
       const stream = new Exporter().endless(${JSON.stringify(marker)});
       return (await stream.next()).value;
     }
     console.log('first', await firstOnly());
     globalThis.gc();`,
    { nodeArgs: ['--expose-gc'] },
  );
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout.trim(), 'first 0');
  assert.ok(existsSync(marker), "the child's finally ran");
});

test('inline mode streams through the same serialization', () => {
  const run = runScript(
    `const { Exporter, lines } = await import(${JSON.stringify(fixtureUrl('standard', 'streams'))});
     const rows = [];
     for await (const row of new Exporter('r').rows(5)) { rows.push(row); if (rows.length === 3) break; }
     const seen = [];
     const iterator = lines('a\\nb');
     for (let step = await iterator.next(); ; step = await iterator.next()) { seen.push(step.value); if (step.done) break; }
     const first = rows[0];
     console.log(JSON.stringify({ texts: rows.map((row) => row.text), here: first.pid === process.pid, seen }));`,
    { env: { ...process.env, RUN_IN_PROCESS_INLINE: '1' } },
  );
  assert.equal(run.status, 0, run.report);
  assert.deepEqual(JSON.parse(run.stdout.trim()), { texts: ['r 0', 'r 1', 'r 2'], here: true, seen: ['a', 'b', 2] });
});

async function collect<T>(stream: AsyncGenerator<T, unknown>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}
