import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureUrl } from '../helpers/fixtures.js';
import { runScript } from '../helpers/scripts.js';

// Where a child gets no pipes beside its IPC channel (Windows; RUN_IN_PROCESS_IPC_ONLY=1 here), its
// answers and the parent's batch control go on that channel, as they all did before the pipes
// (src/pool/local/child-fork.ts). This runs that path on every platform.

test('with the IPC channel alone, as on Windows: values, calls in turn, a batch in bulk, streams, callbacks and a crash mid-batch', () => {
  const run = runScript(
    `import { readlinkSync } from 'node:fs';
     const { configure, shutdown, ProcessCrashedError } = await import('run-in-process');
     const { Values, echoInPool } = await import(${JSON.stringify(fixtureUrl('standard', 'values'))});
     const { Exporter, lines } = await import(${JSON.stringify(fixtureUrl('standard', 'streams'))});
     const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
     const out = [];
     configure('hostile-child', { size: 1 });
     const pid = await inPool('hostile-child').pid();
     // With pipes, fds 4 and 5 are sockets to the parent; without, whatever the child opened there.
     const fd = (n) => { try { return readlinkSync('/proc/' + pid + '/fd/' + n); } catch { return 'closed'; } };
     out.push('pipes ' + [4, 5].map((n) => fd(n).startsWith('socket:') ? 'socket' : 'none').join(','));
     configure('values-batches', { size: 2 });
     const big = Buffer.alloc(1 << 20, 7);
     out.push('echo ' + (await echoInPool(big)).equals(big) + ' ' + Object.is(await echoInPool(-0), -0) + ' ' + (await echoInPool(10n)));
     let sum = 0;
     for (let i = 0; i < 200; i++) sum += await echoInPool(i);
     out.push('in turn ' + sum);
     const bulk = await Promise.all(Array.from({ length: 2000 }, (_, i) => echoInPool(i)));
     out.push('bulk ' + bulk.every((v, i) => v === i));
     const items = [];
     for await (const line of lines('a\\nb\\nc')) items.push(line);
     out.push('stream ' + items.join(','));
     const progress = [];
     out.push(await new Exporter().crunch(3, (done) => progress.push(done), '/dev/null') + ' ' + progress.join(','));
     configure('crash-neighbours', { size: 1 });
     const { exit, pid: pidOf } = inPool('crash-neighbours');
     const settled = await Promise.allSettled([pidOf(), exit(3), pidOf()]);
     out.push('crash ' + settled.map((s) => s.status === 'fulfilled' ? 'ok' : s.reason instanceof ProcessCrashedError ? 'crashed' : String(s.reason)).join(','));
     await shutdown();
     console.log(out.join('\\n'));`,
    { env: { ...process.env, RUN_IN_PROCESS_IPC_ONLY: '1' }, timeout: 60_000 },
  );
  assert.equal(run.status, 0, run.report);
  assert.equal(
    run.stdout.trim(),
    [
      process.platform === 'linux' ? 'pipes none,none' : run.stdout.split('\n')[0],
      'echo true true 10',
      'in turn 19900',
      'bulk true',
      'stream a,b,c',
      'crunched 3 1,2,3',
      'crash ok,crashed,ok',
    ].join('\n'),
    run.report,
  );
});
