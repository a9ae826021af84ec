import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { configure, PoolClosedError, RunInProcessError, shutdown, stats, withCallOptions } from 'run-in-process';
import { CallLog } from '../helpers/call-log.js';
import { childPids, fixture, fixtureUrl, isAlive, scratchFile, waitFor } from '../helpers/fixtures.js';
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

test('a call made before a stream runs before it, also one made as the batch of the call before it closes', async () => {
  configure('stream-order', { size: 1 });
  const { stream, step } = inPool('stream-order');
  const log = new CallLog();
  await step(log.path, 100, 'value');
  // Made in the turn in which the batch of the call before closes: it goes back to wait, and a stream
  // that went straight to tinypool's queue took the child from it, for the stream's whole life.
  const earlier = step(log.path, 101, 'value');
  const items = stream(log.path, 3);
  // The first next() makes the stream's call, as a local generator's body starts there.
  const first = items.next();
  const later = withCallOptions({ signal: new AbortController().signal }, () => step(log.path, 102, 'value'));
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the call made before the stream did not run before it')), 10_000);
  });
  try {
    assert.equal((await Promise.race([earlier, stuck])).index, 101);
  } finally {
    clearTimeout(timer);
  }
  assert.equal((await first).value, 0);
  assert.deepEqual(await collect(items), [1, 2]);
  assert.equal((await later).index, 102);
  assert.deepEqual(
    log.entries().map((entry) => entry.id),
    [100, 101, 0, 1, 2, -1, 102],
  );
});

test('a stream made after calls a cold pool holds for its booting child runs after them, with callsPerChild above 1', async () => {
  // tinypool serves the tasks it may abort first: the stream took the child from the calls before
  // it, which then waited for its whole life (a hostile review's).
  configure('stream-cold', { size: 1, callsPerChild: 4 });
  const { stream, step } = inPool('stream-cold');
  const log = new CallLog();
  const earlier = [100, 101, 102].map((index) => step(log.path, index, 'value'));
  const items = stream(log.path, 2);
  const first = items.next();
  await Promise.all(earlier);
  assert.equal((await first).value, 0);
  assert.deepEqual(await collect(items), [1]);
  const order = log.entries().map((entry) => entry.id);
  assert.deepEqual(order.slice(3), [0, 1, -1], `the stream ran after the calls made before it: ${order.join(', ')}`);
  assert.deepEqual(order.slice(0, 3).sort(), [100, 101, 102]);
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

test('shutdown() settles about a second after its deadline even when a stream never reaches its next yield', async () => {
  configure('stream-shutdown', { size: 1 });
  const { stream } = inPool('stream-shutdown');
  const log = new CallLog();
  // Released never: after its first item the generator waits without yielding, so it cannot be
  // told to stop, and its finally never runs; shutdown() gives it a second, not a stop's 5 s.
  const items = stream(log.path, 3, scratchFile('never-released'));
  assert.equal((await items.next()).value, 0);
  const pending = items.next();
  const started = Date.now();
  await Promise.all([shutdown({ deadline: 200 }), rejectionOf(pending, PoolClosedError)]);
  const took = Date.now() - started;
  assert.ok(took < 4_000, `shutdown({ deadline: 200 }) took ${took} ms`);
  assert.deepEqual(childPids(), [], 'its child was stopped');
});

test('shutdown() settles about a second after its deadline when a stream it finds being stopped never reaches a yield', async () => {
  configure('stream-shutdown', { size: 1 });
  const { stream } = inPool('stream-shutdown');
  const log = new CallLog();
  const items = stream(log.path, 3, scratchFile('never-released'));
  assert.equal((await items.next()).value, 0);
  // The consumer leaves first: its child is told to stop, with a stop's 5 s to reach a yield. A
  // shutdown that comes meanwhile still settles about a second after its own deadline.
  const leaving = items.return(undefined);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  await shutdown({ deadline: 200 });
  const took = Date.now() - started;
  assert.ok(took < 3_000, `shutdown({ deadline: 200 }) took ${took} ms`);
  assert.deepEqual(await leaving, { done: true, value: undefined });
  assert.deepEqual(childPids(), [], 'its child was stopped');
});

for (const left of [false, true]) {
  test(`shutdown() settles about a second after its deadline also when the stream it stops${left ? ', its consumer gone already,' : ''} is in a child that ignores SIGTERM`, async () => {
    configure('stream-shutdown', { size: 1 });
    const { stream, stubborn } = inPool('stream-shutdown');
    const pid = await stubborn();
    const log = new CallLog();
    const items = stream(log.path, 3, scratchFile('never-released'));
    assert.equal((await items.next()).value, 0);
    // Its consumer leaves first (the child gets a stop's 5 s to reach a yield), or waits for an item.
    const waiting = left ? items.return(undefined) : rejectionOf(items.next(), PoolClosedError);
    if (left) await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await Promise.all([shutdown({ deadline: 200 }), waiting]);
    const took = Date.now() - started;
    // The stream's second to reach a yield, then its child killed at once: not tinypool's SIGTERM,
    // which it ignores, and a second more before the SIGKILL.
    assert.ok(took < 2_000, `shutdown({ deadline: 200 }) took ${took} ms`);
    assert.ok(!isAlive(pid), 'its child was stopped');
  });
}

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

test('a stream half-read and left without break does not hold the process: it exits, and its child with it', async () => {
  const run = runScript(
    `const { Exporter } = await import(${JSON.stringify(fixtureUrl('standard', 'streams'))});
     // Still referenced, never garbage-collected: only its child could hold this process.
     globalThis.stream = new Exporter().waits(${JSON.stringify(scratchFile('never'))}, ${JSON.stringify(scratchFile('m'))});
     console.log((await globalThis.stream.next()).value);`,
  );
  assert.equal(run.status, 0, run.report);
  const pid = Number(run.stdout.trim());
  assert.ok(pid > 0, run.report);
  assert.ok((await waitFor(() => !isAlive(pid), 5_000)) !== undefined, 'the child exited with its parent');
});

test('a stream left half-read is not held by its timeout, nor by its idleTimeout: the process exits', async () => {
  const started = Date.now();
  const run = runScript(
    `const { withCallOptions } = await import('run-in-process');
     const { Exporter } = await import(${JSON.stringify(fixtureUrl('standard', 'streams'))});
     // Both still referenced: only their timers or their children could hold this process.
     globalThis.timed = withCallOptions({ timeout: 60_000 }, () =>
       new Exporter().waits(${JSON.stringify(scratchFile('never'))}, ${JSON.stringify(scratchFile('m'))}));
     globalThis.idle = new Exporter().stallsLong();
     console.log((await globalThis.timed.next()).value, (await globalThis.idle.next()).value);`,
    { timeout: 30_000 },
  );
  assert.equal(run.status, 0, run.report);
  assert.ok(Date.now() - started < 20_000, `the script took ${Date.now() - started} ms`);
  const pids = run.stdout.trim().split(' ').map(Number);
  assert.ok(pids.length === 2 && pids.every((pid) => pid > 0), run.report);
  assert.ok((await waitFor(() => pids.every((pid) => !isAlive(pid)), 5_000)) !== undefined, 'the children exited');
});

test('shutdown() with a deadline settles even when the only thing left is a stream nobody reads', () => {
  const run = runScript(
    `const { shutdown } = await import('run-in-process');
     const { Exporter } = await import(${JSON.stringify(fixtureUrl('standard', 'streams'))});
     const stream = Exporter.countdown(1_000);
     console.log('first', (await stream.next()).value);
     const started = Date.now();
     await shutdown({ deadline: 300 });
     console.log('shut down after', Date.now() - started >= 300 ? 'the deadline' : 'less');
     let end = 'ended';
     try { for await (const _ of stream); } catch (error) { end = error.name; }
     console.log('then', end);`,
    { timeout: 15_000 },
  );
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout.trim(), 'first 1000\nshut down after the deadline\nthen PoolClosedError', run.report);
});

test('a child that sends items past the credit its consumer gave is stopped; the parent holds no more of them', async () => {
  const { floodsPastCredit } = (await import(
    fixtureUrl('standard', 'streams')
  )) as typeof import('../fixtures/src/streams.js');
  const stream = floodsPastCredit(5_000);
  // The consumer reads one item, then does something else: the child has credit for 15 more.
  assert.equal((await stream.next()).value, 'first');
  await new Promise((resolve) => setTimeout(resolve, 500));
  let received = 1;
  let error: unknown;
  try {
    for await (const _ of stream) received++;
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof RunInProcessError, String(error));
  assert.match(error.message, /sent more items than its consumer allowed \(a window of 16\)/);
  assert.ok(received <= 16, `the consumer got ${received} items`);
});

test('a left stream holds the process again once its consumer waits for it', () => {
  const log = scratchFile('left-stream.log');
  const release = scratchFile('left-stream-release');
  const run = runScript(
    `import { writeFileSync } from 'node:fs';
     const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
     const { stream } = inPool('stream-capacity');
     const items = stream(${JSON.stringify(log)}, 2, ${JSON.stringify(release)});
     await items.next();
     await new Promise((resolve) => setTimeout(resolve, 100));
     // Nothing else holds this process while the child waits for the file: only the consumer waiting.
     setTimeout(() => writeFileSync(${JSON.stringify(release)}, ''), 300).unref();
     const second = await items.next();
     console.log(second.value);`,
  );
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout.trim(), '1');
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
