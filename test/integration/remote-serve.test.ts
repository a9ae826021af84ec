import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { fixtureUrl, repoRoot, scratchFile } from '../helpers/fixtures.js';
import { redisServerAvailable, type RedisServer, startRedis } from '../helpers/redis.js';
import { runScript } from '../helpers/scripts.js';

// serve() embedded in an app, each case in a process of its own (the registry of decorated targets
// is the process's): what it serves, and what it refuses to start with. Its Redis is real.

const skip = redisServerAvailable() ? false : 'redis-server is not installed (apt-get install redis-server)';

describe('a worker started with serve()', { skip }, () => {
  let redis: RedisServer;

  before(async () => {
    redis = await startRedis({ persistence: false });
  });

  after(async () => {
    await redis?.stop();
  });

  /**
   * Runs `body` in a script where `transport` is a bullmq transport on this Redis (through `connection`,
   * from `cwd`), and `serve` is imported.
   */
  const script = (body: string, connection: unknown = { path: redis.socket }, cwd = repoRoot) =>
    runScript(
      `const { bullmq, serve } = await import(${JSON.stringify(new URL('dist/bullmq.js', pathToFileURL(repoRoot)).href)});
       const transport = bullmq({ connection: ${JSON.stringify(connection)}, buildId: 'serve-test' });
       const served = (worker) => worker.served.map((key) => key.slice(key.indexOf('#') + 1)).sort().join(', ');
       ${body}`,
      { timeout: 20_000, cwd },
    );

  /** Script code: one call as a caller, then serve() as a worker, each printing what it met. */
  const callAndServe = `const { configure, shutdown } = await import(${JSON.stringify(new URL('dist/index.js', pathToFileURL(repoRoot)).href)});
       configure('px', { transport });
       const { inPx } = await import(${JSON.stringify(fixtureUrl('standard', 'remote-pools'))});
       const called = await inPx().then(() => undefined, (error) => error);
       console.log('caller:', called?.name, called?.message);
       const refusedServe = await serve({ transport, pool: 'px', modules: [${JSON.stringify(fixtureUrl('standard', 'remote-pools'))}] })
         .then(() => undefined, (error) => error);
       console.log('serve:', refusedServe?.message);
       await shutdown();`;

  test("serves the targets its modules registered for its pool: not the app's own modules, nor other pools'", () => {
    const run = script(
      `await import(${JSON.stringify(fixtureUrl('standard', 'values'))}); // The app's own, pool default.
       const modules = [${JSON.stringify(fixtureUrl('standard', 'remote-pools'))}];
       const px = await serve({ transport, pool: 'px', modules });
       console.log('px:', served(px));
       // Imported by the app already: the module given is served all the same.
       const fallback = await serve({ transport, pool: 'default', modules });
       console.log('default:', served(fallback));
       await Promise.all([px.close(), fallback.close()]);`,
    );
    assert.equal(run.status, 0, run.report);
    assert.match(run.stdout, /^px: PxClass\.fromClass, fromDependency, inPx$/m, run.report);
    assert.match(run.stdout, /^default: DefaultClass\.plain, inDefault$/m, run.report);
  });

  test('a second serve() in the process, for another pool, serves what the modules it is given registered for it', () => {
    const entry = `${scratchFile('serve-entry')}.mjs`;
    writeFileSync(entry, `export * from ${JSON.stringify(fixtureUrl('standard', 'remote-pools'))};`);
    const run = script(
      `const modules = [${JSON.stringify(entry)}];
       const px = await serve({ transport, pool: 'px', modules });
       const fallback = await serve({ transport, pool: 'default', modules });
       console.log('px:', served(px));
       console.log('default:', served(fallback));
       await Promise.all([px.close(), fallback.close()]);`,
    );
    assert.equal(run.status, 0, run.report);
    assert.match(run.stdout, /^px: PxClass\.fromClass, fromDependency, inPx$/m, run.report);
    assert.match(run.stdout, /^default: DefaultClass\.plain, inDefault$/m, run.report);
  });

  test('a module that exports `then` is served: its `then` is not called as the worker imports it', {
    skip:
      Number(process.versions.node.split('.')[0]) >= 22 ? false : 'on Node 20 modules are imported with import() alone',
  }, () => {
    // A thenable namespace: import() calls its `then` (one that never resolves here) in its place.
    const entry = `${scratchFile('serve-then')}.mjs`;
    writeFileSync(
      entry,
      `export * from ${JSON.stringify(fixtureUrl('standard', 'remote-pools'))};\nexport function then() {}\n`,
    );
    const run = script(
      `const px = await serve({ transport, pool: 'px', modules: [${JSON.stringify(entry)}] });
       console.log('px:', served(px));
       await px.close();`,
    );
    assert.equal(run.status, 0, run.report);
    assert.match(run.stdout, /^px: PxClass\.fromClass, fromDependency, inPx$/m, run.report);
  });

  test('refuses to start when its modules declare no target of its pool, saying which pools they do declare', () => {
    const run = script(
      `const error = await serve({ transport, pool: 'px', modules: [${JSON.stringify(fixtureUrl('standard', 'values'))}] })
         .then(() => undefined, (error) => error);
       console.log('refused:', error?.code, error?.message);`,
    );
    assert.equal(run.status, 0, run.report);
    assert.match(
      run.stdout,
      /^refused: ERR_INVALID_USAGE serve\(\): the modules file:.*\/values\.js declare no target of pool px, so this worker would serve nothing\. They declare targets for other pools \(default, values-batches\)/m,
      run.report,
    );
  });

  test('a module that throws as it is imported fails serve(), naming the module, with the error as its cause', () => {
    const broken = fixtureUrl('standard', 'remote-throws');
    const run = script(
      `const error = await serve({ transport, pool: 'px', modules: [${JSON.stringify(broken)}] }).then(() => undefined, (e) => e);
       console.log('failed:', error?.message, '| cause:', error?.cause?.message);`,
    );
    assert.equal(run.status, 0, run.report);
    assert.ok(
      run.stdout.includes(
        `failed: The worker could not import ${broken}: remote-throws refuses to load. Fix the module`,
      ),
      run.report,
    );
    assert.match(run.stdout, /\| cause: remote-throws refuses to load$/m, run.report);
  });

  test('refused by Redis as it starts (an ACL without EVAL), serve() rejects and leaves nothing open', () => {
    const modules = JSON.stringify([fixtureUrl('standard', 'remote-pools')]);
    const run = script(
      `const { Redis } = await import('ioredis');
       const admin = new Redis({ path: ${JSON.stringify(redis.socket)} });
       await admin.acl('SETUSER', 'no-eval', 'on', '>pw', '~*', '&*', '+@all', '-eval');
       admin.disconnect();
       const error = await serve({ transport, pool: 'px', modules: ${modules} }).then(() => undefined, (error) => error);
       console.log('refused:', error?.message);`,
      { path: redis.socket, username: 'no-eval', password: 'pw' },
    );
    // It exits by itself: no client, worker or pool of the failed serve() holds the process.
    assert.equal(run.status, 0, run.report);
    assert.match(run.stdout, /^refused: NOPERM/m, run.report);
  });

  test('a password Redis refuses is said as refused credentials, to a caller and to serve(), not as Redis out of reach', () => {
    const run = script(
      `const { Redis } = await import('ioredis');
       const admin = new Redis({ path: ${JSON.stringify(redis.socket)} });
       await admin.acl('SETUSER', 'pw-user', 'on', '>right', '~*', '&*', '+@all');
       admin.disconnect();
       ${callAndServe}`,
      { path: redis.socket, username: 'pw-user', password: 'wrong' },
    );
    assert.equal(run.status, 0, run.report);
    assert.match(
      run.stdout,
      /^caller: TransportUnavailableError inPx could not be sent: Redis at .* refused the connection's credentials \(WRONGPASS/m,
      run.report,
    );
    assert.match(run.stdout, /^serve: WRONGPASS/m, run.report);
  });

  test('an ACL user without INFO (+@all -@dangerous) fails the call saying what to grant, and the caller lives on', () => {
    // BullMQ runs INFO as it connects; closing the subscription that met the refusal rejected with it,
    // unhandled: the caller's process ended with exit code 1, after its own catch.
    const run = script(
      `const { Redis } = await import('ioredis');
       const admin = new Redis({ path: ${JSON.stringify(redis.socket)} });
       await admin.acl('SETUSER', 'no-info', 'on', '>pw', '~*', '&*', '+@all', '-@dangerous');
       admin.disconnect();
       ${callAndServe}
       await new Promise((resolve) => setTimeout(resolve, 1_500)); // Past the subscription's next try.
       console.log('alive');`,
      { path: redis.socket, username: 'no-info', password: 'pw' },
    );
    assert.equal(run.status, 0, run.report);
    assert.match(
      run.stdout,
      /^caller: TransportUnavailableError inPx could not be sent: Redis at .* refused a command to the transport's user \(NOPERM .*'info'.*\)\. Nothing was sent\. Give that ACL user .*\+@all -@dangerous \+info/m,
      run.report,
    );
    assert.match(run.stdout, /^alive$/m, run.report);
  });

  test("worker.stats() is its local pool's snapshot: the calls it took, and what they came to", () => {
    const run = runScript(
      `const { configure, shutdown } = await import(${JSON.stringify(new URL('dist/index.js', pathToFileURL(repoRoot)).href)});
       const { bullmq, serve } = await import(${JSON.stringify(new URL('dist/bullmq.js', pathToFileURL(repoRoot)).href)});
       const transport = bullmq({ connection: ${JSON.stringify({ path: redis.socket })}, buildId: 'serve-stats' });
       const modules = [${JSON.stringify(fixtureUrl('standard', 'remote-env'))}];
       const worker = await serve({ transport, pool: 'px', modules });
       console.log('before:', JSON.stringify(worker.stats()));
       configure('px', { transport });
       const { envOf } = await import(modules[0]);
       await envOf([]);
       await envOf([]);
       const { completed, failed, queued, running } = worker.stats();
       console.log('after:', JSON.stringify({ completed, failed, queued, running }));
       await shutdown();
       await worker.close();`,
      { timeout: 20_000 },
    );
    assert.equal(run.status, 0, run.report);
    assert.match(run.stdout, /^before: \{"queued":0,"running":0,"completed":0,/m, run.report);
    assert.match(run.stdout, /^after: \{"completed":2,"failed":0,"queued":0,"running":0\}$/m, run.report);
  });

  test("the worker's secret and Redis URL variables do not reach the children that run its calls", () => {
    const run = runScript(
      `const { configure, shutdown } = await import(${JSON.stringify(new URL('dist/index.js', pathToFileURL(repoRoot)).href)});
       const { bullmq, serve } = await import(${JSON.stringify(new URL('dist/bullmq.js', pathToFileURL(repoRoot)).href)});
       const transport = bullmq({ connection: ${JSON.stringify({ path: redis.socket })}, buildId: 'serve-env', secret: 's3cret' });
       const modules = [${JSON.stringify(fixtureUrl('standard', 'remote-env'))}];
       const worker = await serve({ transport, pool: 'px', modules });
       configure('px', { transport });
       const { envOf } = await import(modules[0]);
       console.log('seen:', JSON.stringify(await envOf(['RUN_IN_PROCESS_SECRET', 'RUN_IN_PROCESS_CONNECTION', 'KEPT'])));
       await shutdown();
       await worker.close();`,
      {
        timeout: 20_000,
        env: {
          ...process.env,
          RUN_IN_PROCESS_SECRET: 's3cret',
          RUN_IN_PROCESS_CONNECTION: 'redis://:pw@nowhere',
          KEPT: 'yes',
        },
      },
    );
    assert.equal(run.status, 0, run.report);
    assert.match(
      run.stdout,
      /^seen: \{"RUN_IN_PROCESS_SECRET":null,"RUN_IN_PROCESS_CONNECTION":null,"KEPT":"yes"\}$/m,
      run.report,
    );
  });

  test("a password Redis refuses is masked in the errors that carry ioredis's AUTH command, not printed with them", () => {
    const run = script(
      `const { configure, shutdown } = await import(${JSON.stringify(new URL('dist/index.js', pathToFileURL(repoRoot)).href)});
       const { inspect } = await import('node:util');
       const { Redis } = await import('ioredis');
       const admin = new Redis({ path: ${JSON.stringify(redis.socket)} });
       await admin.acl('SETUSER', 'rotated', 'on', '>new-password', '~*', '&*', '+@all');
       admin.disconnect();
       configure('px', { transport });
       const { inPx } = await import(${JSON.stringify(fixtureUrl('standard', 'remote-pools'))});
       const called = await inPx().then(() => undefined, (error) => error);
       const heard = [];
       const refused = await serve({ transport, pool: 'px', modules: [${JSON.stringify(fixtureUrl('standard', 'remote-pools'))}],
         onConnectionError: (error) => heard.push(inspect(error, { depth: 20 })) }).then(() => undefined, (error) => error);
       const printed = [inspect(called, { depth: 20 }), inspect(refused, { depth: 20 }), ...heard];
       console.log('leaked:', printed.some((text) => text.includes('old-password')), '| masked:', printed.some((text) => text.includes("'***'")));
       await shutdown();`,
      { path: redis.socket, username: 'rotated', password: 'old-password' },
    );
    assert.equal(run.status, 0, run.report);
    assert.match(run.stdout, /^leaked: false \| masked: true$/m, run.report);
  });

  test('a database Redis does not have is refused, to a caller and to serve(), not taken for database 0', () => {
    // ioredis says so once, as an error, and goes on with database 0: there, the calls of whoever uses it.
    const run = script(callAndServe, { path: redis.socket, db: 99 });
    assert.equal(run.status, 0, run.report);
    assert.match(
      run.stdout,
      /^caller: TransportUnavailableError inPx could not be sent \(Redis at unix:.* db 99 \(queue px@serve-test\)\): Redis has no database 99 \(ERR DB index is out of range\): .* Nothing was sent\.$/m,
      run.report,
    );
    assert.match(
      run.stdout,
      /^serve: Redis at unix:\S+ has no database 99 \(ERR DB index is out of range\)/m,
      run.report,
    );
  });

  test('serve() waiting for a Redis that does not answer gives up when its signal aborts, and leaves nothing open', () => {
    const run = script(
      `const controller = new AbortController();
       const errors = [];
       const onConnectionError = (error) => errors.push(error.message);
       setTimeout(() => controller.abort(new Error('gave up waiting')), 500);
       const modules = [${JSON.stringify(fixtureUrl('standard', 'remote-pools'))}];
       const given = await serve({ transport, pool: 'px', modules, signal: controller.signal, onConnectionError })
         .then(() => undefined, (error) => error);
       console.log('serve:', given?.name, given?.message, '| cause:', given?.cause?.message, '| heard:', errors.length > 0);
       // Aborted before it starts: at once.
       const early = await serve({ transport, pool: 'px', modules, signal: AbortSignal.abort() }).then(() => undefined, (error) => error);
       console.log('early:', early?.name);`,
      { path: join(scratchFile('no-redis'), 'redis.sock') },
    );
    // It exits by itself: nothing of the aborted serve() holds the process.
    assert.equal(run.status, 0, run.report);
    assert.match(
      run.stdout,
      /^serve: AbortError serve\(\) for pool px was aborted while the worker started \(waiting for Redis\)\. \| cause: gave up waiting \| heard: true$/m,
      run.report,
    );
    assert.match(run.stdout, /^early: AbortError$/m, run.report);
  });

  test("a job's failure written by another worker of the queue reaches the caller quoted, its terminal sequences escaped", () => {
    const run = script(
      `const { Worker } = await import('bullmq');
       const { Redis } = await import('ioredis');
       // Not one of ours: a plain BullMQ worker on the pool's queue, as anyone who can write to Redis could run.
       const worker = new Worker('px@serve-test', async () => { throw new Error('hostile \\u001b[31mred\\nforged line'); }, {
         connection: new Redis({ path: ${JSON.stringify(redis.socket)}, maxRetriesPerRequest: null }),
       });
       const { configure, shutdown } = await import(${JSON.stringify(new URL('dist/index.js', pathToFileURL(repoRoot)).href)});
       configure('px', { transport: bullmq({ connection: { path: ${JSON.stringify(redis.socket)} }, buildId: 'serve-test', waitForWorker: true }) });
       const { inPx } = await import(${JSON.stringify(fixtureUrl('standard', 'remote-pools'))});
       const failed = await inPx().then(() => undefined, (error) => error);
       console.log('caller:', JSON.stringify(failed?.message));
       await shutdown();
       await worker.close();
       process.exit(0);`,
    );
    assert.equal(run.status, 0, run.report);
    const message = JSON.parse(run.stdout.match(/^caller: (.*)$/m)?.[1] ?? 'null') as string | null;
    assert.match(message ?? '', /^The queue failed job \S+: "hostile \\u001b\[31mred\\nforged line"$/, run.report);
  });

  test("a worker whose pool's children cannot boot answers each call so, and serves again once they can", () => {
    const dir = scratchFile('boots-later');
    mkdirSync(dir, { recursive: true });
    const library = new URL('dist/index.js', pathToFileURL(repoRoot)).href;
    const ready = join(dir, 'ready');
    writeFileSync(
      join(dir, 'served.mjs'),
      `import { runInProcess } from ${JSON.stringify(library)};
       export const pid = runInProcess(async function pid() { return process.pid; }, { pool: 'boots', id: 'boots:pid' });`,
    );
    writeFileSync(
      join(dir, 'preload.mjs'),
      `import { existsSync } from 'node:fs';
       if (!existsSync(${JSON.stringify(ready)})) throw new Error('not ready yet');`,
    );
    const run = script(
      `const { configure, shutdown } = await import(${JSON.stringify(library)});
       const { writeFileSync } = await import('node:fs');
       const worker = await serve({ transport, pool: 'boots', modules: [${JSON.stringify(join(dir, 'served.mjs'))}],
         poolOptions: { size: 1, preload: [${JSON.stringify(join(dir, 'preload.mjs'))}] } });
       configure('boots', { transport });
       const { pid } = await import(${JSON.stringify(pathToFileURL(join(dir, 'served.mjs')).href)});
       const outcome = () => Promise.race([
         pid().then(() => 'answered', (error) => error.code),
         new Promise((resolve) => setTimeout(() => resolve('no answer in 10 s'), 10_000).unref()),
       ]);
       const before = [await outcome(), await outcome()];
       writeFileSync(${JSON.stringify(ready)}, '');
       console.log(JSON.stringify([...before, await outcome()]));
       await shutdown();
       await worker.close();`,
    );
    assert.equal(run.status, 0, run.report);
    assert.deepEqual(JSON.parse(run.stdout), ['ERR_MODULE_LOAD', 'ERR_MODULE_LOAD', 'answered'], run.report);
  });

  test('a connection that is a relative socket path is resolved against the working directory', () => {
    const folder = dirname(redis.socket);
    const modules = JSON.stringify([fixtureUrl('standard', 'remote-pools')]);
    const body = `const worker = await serve({ transport, pool: 'px', modules: ${modules} });
       console.log('where:', transport.settings.where, '| served:', worker.served.length);
       await worker.close();`;
    for (const [connection, cwd] of [
      ['redis.sock', folder],
      [join('..', 'redis.sock'), join(folder, 'sub')],
    ] as const) {
      mkdirSync(cwd, { recursive: true });
      const run = script(body, connection, cwd);
      assert.equal(run.status, 0, run.report);
      assert.match(run.stdout, new RegExp(`^where: unix:${redis.socket} \\| served: 3$`, 'm'), run.report);
    }
  });

  test("an app run by a tool (an entry script under node_modules, as vitest's) calls the build of its own package, not the tool's", () => {
    const app = scratchFile('tool-launched');
    const tool = join(app, 'node_modules', 'some-runner');
    mkdirSync(tool, { recursive: true });
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'launched-app', version: '3.1.4', type: 'module' }),
    );
    writeFileSync(
      join(tool, 'package.json'),
      JSON.stringify({ name: 'some-runner', version: '9.9.9', type: 'module' }),
    );
    const dist = (file: string) => JSON.stringify(new URL(`dist/${file}`, pathToFileURL(`${repoRoot}/`)).href);
    writeFileSync(
      join(app, 'targets.mjs'),
      `import { configure, runInProcess } from ${dist('index.js')};
       import { bullmq } from ${dist('bullmq.js')};
       configure('launched', { transport: bullmq({ connection: { path: ${JSON.stringify(redis.socket)} } }) });
       export const twice = runInProcess(async function twice(n) { return 2 * n; }, { pool: 'launched' });`,
    );
    // The runner imports the app's module, as vitest imports a test file; the worker gets no buildId either.
    const runner = join(tool, 'run.mjs');
    writeFileSync(
      runner,
      `const { twice } = await import(${JSON.stringify(pathToFileURL(join(app, 'targets.mjs')).href)});
       const { bullmq, serve } = await import(${dist('bullmq.js')});
       const worker = await serve({
         transport: bullmq({ connection: { path: ${JSON.stringify(redis.socket)} } }),
         pool: 'launched',
         modules: [${JSON.stringify(join(app, 'targets.mjs'))}],
       });
       console.log('queue:', worker.queueName);
       console.log('twice:', await twice(21).catch((error) => error.message));
       await worker.close();
       const { shutdown } = await import(${dist('index.js')});
       await shutdown();`,
    );
    const { RUN_IN_PROCESS_BUILD_ID: _, ...env } = process.env;
    const run = runScript(pathToFileURL(runner), { cwd: tool, env, timeout: 20_000 });
    assert.equal(run.status, 0, run.report);
    assert.match(run.stdout, /^queue: launched@3\.1\.4$/m, run.report);
    assert.match(run.stdout, /^twice: 42$/m, run.report);
  });
});

test('an unparsable Redis URL is refused by bullmq() at once, naming the option, its password masked', async () => {
  const { bullmq } = await import('run-in-process/bullmq');
  const error = (() => {
    try {
      bullmq({ connection: 'redis://user:pa ss@[bad' });
    } catch (thrown) {
      return thrown as TypeError & { code?: string };
    }
    return undefined;
  })();
  assert.ok(error instanceof TypeError, 'refused when the transport is made');
  assert.equal(error.code, 'ERR_INVALID_OPTION');
  assert.match(
    error.message,
    /connection "redis:\/\/user:\*\*\*@\[bad" is not a URL that parses\. Expected 'redis:\/\//,
  );
  assert.doesNotMatch(error.message, /pa ss/);
  assert.throws(() => bullmq({ connection: 'http://localhost:6379' }), /is not a Redis URL/);
});

test('serve() refuses a concurrency that is not a positive integer, before it imports a module or reaches Redis', async () => {
  const { bullmq, serve } = await import('run-in-process/bullmq');
  const transport = bullmq({ connection: '/nowhere/redis.sock' });
  for (const concurrency of [0, -1, 1.5, Number.NaN, '2']) {
    await assert.rejects(
      serve({ transport, pool: 'px', modules: ['/nowhere/app.js'], concurrency: concurrency as number }),
      {
        code: 'ERR_INVALID_OPTION',
        message: `serve(): concurrency must be a positive integer (got ${String(concurrency)}).`,
      },
    );
  }
});

test('serve() refuses a sandboxed pool before it imports a module: the worker imports them itself, outside any sandbox', async () => {
  const { bullmq, serve } = await import('run-in-process/bullmq');
  const { configure } = await import('run-in-process');
  const transport = bullmq({ connection: '/nowhere/redis.sock' });
  const module = pathToFileURL(join(repoRoot, 'nowhere', 'plugin.js')).href;
  for (const poolOptions of [
    { permissions: { fsRead: ['./plugins'] } },
    { execArgv: ['--experimental-permission', '--allow-fs-read=*'] },
  ]) {
    await assert.rejects(serve({ transport, pool: 'px', modules: [module], poolOptions }), {
      code: 'ERR_INVALID_OPTION',
      message:
        /serve\(\): the pool px would run under Node's permission model .* a worker imports the modules it serves in its own process, outside any sandbox/,
    });
  }
  // A worker process run under the model, whose flags its pool inherits: the pool asks for no sandbox
  // narrower than the worker's own rights, which the modules' top-level code has. Not refused; a
  // pool that asks for one still is (the worker needs --allow-child-process, which its modules then have).
  const model = Number(process.versions.node.split('.')[0]) >= 22 ? '--permission' : '--experimental-permission';
  const inside = runScript(
    `const { bullmq, serve } = await import('run-in-process/bullmq');
     const transport = bullmq({ connection: '/nowhere/redis.sock' });
     for (const poolOptions of [undefined, { permissions: { fsRead: ['./plugins'] } }]) {
       try { await serve({ transport, pool: 'px', modules: [${JSON.stringify(module)}], poolOptions }); }
       catch (error) { console.log(error.message.slice(0, 60)); }
     }`,
    { nodeArgs: [model, '--allow-fs-read=*', '--allow-fs-write=*', '--allow-child-process'], timeout: 15_000 },
  );
  const [inherited, asked] = inside.stdout.trim().split('\n');
  assert.match(inherited ?? '', /^The worker could not import /, inside.report);
  assert.match(asked ?? '', /^serve\(\): the pool px would run under Node's/, inside.report);
  assert.throws(() => configure('px-remote', { transport, permissions: { fsRead: ['./plugins'] } }), {
    code: 'ERR_INVALID_OPTION',
    message:
      /permissions sandbox local child processes, .* whose workers import the modules they serve in their own process, outside any sandbox\. Run untrusted plugins in a local pool/,
  });
});

test("serve() in a worker thread is refused before it imports a module or reaches Redis, unless the process's inspector was shut at start", () => {
  // A thread cannot keep SIGUSR1 from opening the process's inspector, which would hold the worker's rights and secret.
  const module = pathToFileURL(join(repoRoot, 'nowhere', 'plugin.js')).href;
  const thread = `(async () => {
    const { parentPort } = await import('node:worker_threads');
    const { bullmq, serve } = await import('run-in-process/bullmq');
    const transport = bullmq({ connection: '/nowhere/redis.sock' });
    try { await serve({ transport, pool: 'px', modules: [${JSON.stringify(module)}] }); }
    catch (error) { parentPort.postMessage(error.code + ': ' + error.message.slice(0, 60)); }
  })()`;
  const script = `const { Worker } = await import('node:worker_threads');
    const { once } = await import('node:events');
    console.log((await once(new Worker(${JSON.stringify(thread)}, { eval: true }), 'message'))[0]);`;
  const plain = runScript(script, { timeout: 15_000 });
  assert.equal(
    plain.stdout.trim(),
    'ERR_INVALID_USAGE: serve() is called from a worker thread, where the library ca',
    plain.report,
  );
  if (!process.allowedNodeEnvironmentFlags.has('--disable-sigusr1')) return; // Node 20: from the main thread only.
  const shut = runScript(script, { timeout: 15_000, nodeArgs: ['--disable-sigusr1'] });
  assert.match(shut.stdout, /^undefined: The worker could not import /, shut.report);
});

test('serve() refuses options it cannot use, saying what is wrong, before it imports a module or reaches Redis', async () => {
  const { bullmq, serve } = await import('run-in-process/bullmq');
  const transport = bullmq({ connection: '/nowhere/redis.sock' });
  const modules = ['/nowhere/app.js'];
  const refusals: Array<[unknown, RegExp]> = [
    [undefined, /^serve\(options\): options must be an object like \{ transport: bullmq/],
    [{ pool: 'px', modules }, /^serve\(options\): transport is missing\./],
    [
      { transport: {}, pool: 'px', modules },
      /^serve\(options\): transport must be the callers' transport, bullmq\(\{ connection \}\)/,
    ],
    [{ transport, modules }, /^serve\(options\): pool is missing\./],
    [
      { transport, pool: 'px', modules: './app.js' },
      /^serve\(options\): modules must be a non-empty array of module paths or URLs/,
    ],
    [{ transport, pool: 'px', modules: [] }, /^serve\(options\): modules must be a non-empty array/],
    [
      { transport, pool: 'px', modules, concurency: 2 },
      /^serve\(options\): unknown option "concurency"\. Known options: transport, pool, modules/,
    ],
    [{ transport, pool: 'px', modules, signal: 'stop' }, /^serve\(options\): signal must be an AbortSignal/],
  ];
  for (const [options, message] of refusals) {
    await assert.rejects(serve(options as never), { code: 'ERR_INVALID_OPTION', message }, String(message));
  }
});

test("ioredis's keyPrefix in bullmq()'s connection is refused at once, pointing to the prefix option", async () => {
  const { bullmq } = await import('run-in-process/bullmq');
  assert.throws(() => bullmq({ connection: { path: '/nowhere/redis.sock', keyPrefix: 'x:' } }), {
    code: 'ERR_INVALID_OPTION',
    message:
      /connection\.keyPrefix is ioredis's, which BullMQ does not support\. Give the key prefix as bullmq\(\{ prefix \}\)/,
  });
});

test("ioredis options that ioredis would take as they are (db: 'x', path: 5), a build id with ':' or '@', and a socket's ?db=x are refused at once", async () => {
  const { bullmq } = await import('run-in-process/bullmq');
  const refusals: Array<[object, RegExp]> = [
    // ioredis sent SELECT NaN, and its refusal ended the caller's process, uncaught.
    [{ connection: { path: '/nowhere/redis.sock', db: 'x' } }, /connection\.db must be a database number.*\(got "x"\)/],
    [{ connection: { path: '/nowhere/redis.sock', db: -1 } }, /connection\.db must be a database number.*\(got -1\)/],
    [{ connection: { path: 5 } }, /connection\.path must be a Unix socket's path.*\(got 5\)/],
    [{ connection: { host: '' } }, /connection\.host must be a host name/],
    [
      { connection: { host: 'localhost', port: 70_000 } },
      /connection\.port must be a port number, from 1 to 65535 \(got 70000\)/,
    ],
    [
      { connection: '/nowhere/redis.sock?db=x' },
      /has a db that is no database number \("x"; a whole number, 0 or above\)/,
    ],
    [{ connection: '/nowhere/redis.sock', buildId: 'a:b' }, /buildId cannot contain ':' or '@' \(got 'a:b'\)/],
  ];
  for (const [options, message] of refusals) {
    assert.throws(() => bullmq(options as never), { code: 'ERR_INVALID_OPTION', message }, JSON.stringify(options));
  }
  // A port given as digits is a port, as ioredis takes it.
  assert.doesNotThrow(() => bullmq({ connection: { host: 'localhost', port: '6380' as never } }));
  // So is a database number (an environment variable's value, say).
  assert.doesNotThrow(() => bullmq({ connection: { path: '/nowhere/redis.sock', db: '2' as never } }));
});
