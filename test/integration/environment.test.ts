import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, test } from 'node:test';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { configure, shutdown } from 'run-in-process';
import { fixture, fixtureUrl, repoRoot, scratchFile } from '../helpers/fixtures.js';
import { runScript } from '../helpers/scripts.js';

// What the children inherit from the parent, and how the library behaves in special parents.
// maxMemoryMb, which also becomes a flag, is in pool-options.test.ts.

type PooledModule = typeof import('../fixtures/src/pooled.js');
after(() => shutdown());

test("children get the parent's environment and flags, without debugger flags", async () => {
  const { environment } = (await fixture<PooledModule>('standard', 'pooled')).inPool('environment-flags');
  process.env['RUN_IN_PROCESS_TEST_VALUE'] = 'from the parent';
  configure('environment-flags', {
    execArgv: ['--no-warnings', '--inspect-port=0', '--stack-size=2000'],
    env: { ...process.env, NODE_OPTIONS: '--inspect=0 --no-deprecation' },
  });
  const seen = await environment('RUN_IN_PROCESS_TEST_VALUE');
  assert.equal(seen.value, 'from the parent');
  // Besides the flag that keeps SIGUSR1 from opening a child's inspector (node-flags.ts).
  assert.deepEqual(
    seen.execArgv.filter((flag) => flag !== '--disable-sigusr1' && flag !== '--inspect-port=0.0.0.1:9229'),
    ['--no-warnings', '--stack-size=2000'],
  );
  assert.equal(seen.nodeOptions, '--no-deprecation');
  // Nor the file a child requires first, to start its sentinel (child/sentinel-first.ts), which
  // goes in NODE_OPTIONS when that has a `--require` of its own.
  const preload = `${scratchFile('harmless preload')}.cjs`;
  writeFileSync(preload, '');
  const nodeOptions = `--require "${preload}" --no-deprecation`;
  configure('environment-flags', { execArgv: ['--no-warnings'], env: { ...process.env, NODE_OPTIONS: nodeOptions } });
  const again = await environment('NODE_OPTIONS');
  assert.deepEqual(
    again.execArgv.filter((flag) => flag === '--require'),
    [],
  );
  assert.equal(again.nodeOptions, nodeOptions);
});

test('a decorated class in the entry script works, with one warning that says how to fix it', () => {
  const run = runScript(new URL(fixtureUrl('standard', 'entry-script')));
  assert.equal(run.status, 0, run.report);
  const [, parent, first, second] = /parent (\d+) children (\d+) (\d+)/.exec(run.stdout) ?? [];
  assert.ok(parent && first && second, run.report);
  assert.notEqual(first, parent);
  assert.equal(run.stderr.match(/RUN_IN_PROCESS_ENTRY_SCRIPT/g)?.length, 1, run.report);
  assert.match(run.stderr, /isChildProcess\(\)/);
  // Its exported error class is not found: the warning says why, and what to do instead of exporting it.
  assert.match(run.stdout, /failed with EntryError, instanceof false/, run.report);
  assert.match(run.stderr, /is the entry script, whose exports are not looked up .* call registerError\(EntryError\)/s);
});

test('code declared in a test file whose name does not say so (math_test.mjs) is refused when called: a child would run its tests again', () => {
  // `node --test` and `node <file>` run a test file as the entry script; Node's own patterns take
  // names that the definition-time check (*.test.*, *.spec.*) does not.
  const file = `${scratchFile('math')}_test.mjs`;
  writeFileSync(
    file,
    `import { test } from 'node:test';
import { runInProcess, shutdown } from ${JSON.stringify(pathToFileURL(`${repoRoot}/dist/index.js`).href)};
const double = runInProcess(async function double(x) { return x * 2; });
test('double', async () => {
  console.log('test body ran in', process.pid);
  const outcome = await double(21).then(String, (error) => error.code + ': ' + error.message);
  console.log('outcome:', outcome);
  await shutdown();
});
`,
  );
  // Not as a test of this run's own: its runner's marker would make it report in the runner's format.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const run = runScript(pathToFileURL(file), { env });
  assert.equal(run.status, 0, run.report);
  assert.match(
    run.stdout,
    /^outcome: ERR_INVALID_USAGE: Cannot run code of file:.*_test\.mjs in a child process: it is a test file/m,
    run.report,
  );
  assert.equal(run.stdout.match(/test body ran in/g)?.length, 1, run.report);
  // An app that loads node:test for its `mock` alone is no test file: its entry script is run, warned of.
  const app = `${scratchFile('app-with-mock')}.mjs`;
  writeFileSync(
    app,
    `import { mock } from 'node:test';
import { isChildProcess, runInProcess, shutdown } from ${JSON.stringify(pathToFileURL(`${repoRoot}/dist/index.js`).href)};
export const double = runInProcess(async function double(x) { return x * 2; });
if (!isChildProcess()) {
  console.log('mock:', typeof mock.fn);
  console.log('outcome:', await double(21));
  await shutdown();
}
`,
  );
  const appRun = runScript(pathToFileURL(app), { env });
  assert.equal(appRun.status, 0, appRun.report);
  assert.match(appRun.stdout, /^outcome: 42$/m, appRun.report);
});

test('an exported error class of a module this process cannot look into (its top level awaits the call) comes back as its built-in class, with a warning saying why', () => {
  const module = `${scratchFile('awaits-its-call')}.mjs`;
  writeFileSync(
    module,
    `import { runInProcess } from ${JSON.stringify(new URL('dist/index.js', pathToFileURL(`${repoRoot}/`)).href)};
     export class BadInput extends Error {}
     export const check = runInProcess(async function check(n) {
       if (n < 0) throw new BadInput('negative');
       return n;
     });
     // The module is still evaluating when the error comes back: importing it to look would wait for ever.
     export const caught = await check(-1).catch((error) => error);`,
  );
  const run = runScript(
    `const { caught, BadInput } = await import(${JSON.stringify(pathToFileURL(module).href)});
     console.log('caught', caught.message, caught instanceof BadInput, caught instanceof Error);`,
  );
  assert.equal(run.status, 0, run.report);
  assert.match(run.stdout, /^caught negative false true$/m, run.report);
  assert.match(
    run.stderr,
    /this process could not import file:.*awaits-its-call\.mjs to look for BadInput among its exports \(its import had not settled after 500 ms: its top-level code may await this very call\)\. For instanceof BadInput to hold, call registerError\(BadInput\)/,
    run.report,
  );
  assert.doesNotMatch(run.stderr, /does not export/, run.report);
});

test("an error class exported by a module that declares its function through a helper of the app's (module: import.meta.url) comes back as itself", () => {
  const library = JSON.stringify(new URL('dist/index.js', pathToFileURL(`${repoRoot}/`)).href);
  const helper = `${scratchFile('offload-helper')}.mjs`;
  writeFileSync(
    helper,
    `import { runInProcess } from ${library};
     export const offload = (fn, module) => runInProcess(fn, { module });`,
  );
  const checks = `${scratchFile('offload-checks')}.mjs`;
  writeFileSync(
    checks,
    `import { offload } from ${JSON.stringify(pathToFileURL(helper).href)};
     export class BadInput extends Error {}
     export const check = offload(async function check(n) {
       if (n < 0) throw new BadInput('negative');
       return n;
     }, import.meta.url);`,
  );
  const run = runScript(
    `const { check, BadInput } = await import(${JSON.stringify(pathToFileURL(checks).href)});
     const error = await check(-1).catch((error) => error);
     console.log('instanceof', error instanceof BadInput, error.message);`,
  );
  assert.equal(run.status, 0, run.report);
  assert.match(run.stdout, /^instanceof true negative$/m, run.report);
  assert.doesNotMatch(run.stderr, /RUN_IN_PROCESS_UNKNOWN_ERROR_CLASS/, run.report);
});

test('RUN_IN_PROCESS_INLINE=1 runs calls in this process through the same serialization', () => {
  const run = runScript(
    `const { Values } = await import(${JSON.stringify(fixtureUrl('standard', 'values'))});
     const back = await Values.echo({ big: 1n, buffer: Buffer.from('x') });
     console.log(JSON.stringify({ same: (await Values.pid()) === process.pid, big: typeof back.big, buffer: Buffer.isBuffer(back.buffer) }));
     try { await Values.echo({ fn() {} }); } catch (error) { console.log(error.name, error.path); }`,
    { env: { ...process.env, RUN_IN_PROCESS_INLINE: '1' } },
  );
  assert.equal(run.status, 0, run.report);
  const [result, refusal] = run.stdout.trim().split('\n');
  assert.deepEqual(JSON.parse(result!), { same: true, big: 'bigint', buffer: true });
  assert.equal(refusal, 'SerializationError args[0].fn');
});

test("a call made by its own module's top-level await runs in a child; inline, where it cannot, it is said why", () => {
  const script = `const { loaded } = await import(${JSON.stringify(fixtureUrl('standard', 'top-level-await'))});
     console.log(JSON.stringify(loaded));`;
  const children = runScript(script, { env: { ...process.env, RUN_IN_PROCESS_INLINE: '0' }, timeout: 15_000 });
  assert.equal(children.status, 0, children.report);
  assert.equal(children.stdout.trim(), '[42,2]', children.report);
  // Inline, the module waits for the call, and the call (which holds the process, as any call does)
  // for the module's import(): it waits for ever, and the warning says why.
  const inline = runScript(script, { env: { ...process.env, RUN_IN_PROCESS_INLINE: '1' }, timeout: 6_000 });
  assert.equal(inline.status, null, inline.report);
  assert.match(
    inline.stderr,
    /A call made by the module's own top-level await can never run inline: the module waits for the call, and the call for the module/,
    inline.report,
  );
});

test('a parent started with --inspect still runs calls; children do not take the debug port', () => {
  const run = runScript(
    `const { Environment } = await import(${JSON.stringify(fixtureUrl('standard', 'values'))});
     const { shutdown } = await import('run-in-process');
     const seen = await Promise.all([Environment.read('X'), Environment.read('X')]);
     console.log(JSON.stringify(seen.map((s) => s.execArgv)));
     await shutdown();`,
    { nodeArgs: ['--inspect=0'] },
  );
  assert.equal(run.status, 0, run.report);
  assert.match(run.stderr, /Debugger listening/);
  // Where Node has no --disable-sigusr1, the children's inspector is pointed where it cannot listen (node-flags.ts).
  for (const flags of JSON.parse(run.stdout) as string[][])
    assert.ok(
      !flags.some((flag) => flag.startsWith('--inspect') && flag !== '--inspect-port=0.0.0.1:9229'),
      String(flags),
    );
});

test('under Bun or Deno the library refuses at import, naming the runtime it needs', () => {
  for (const [pretend, name] of [
    ["Object.defineProperty(process.versions, 'bun', { value: '1.1.0' });", 'Bun 1.1.0'],
    ["globalThis.Deno = { version: { deno: '2.0.0' } };", 'Deno'],
  ] as const) {
    const run = runScript(`${pretend}
      try { await import('run-in-process'); console.log('imported'); } catch (error) { console.log(error.message); }`);
    assert.match(run.stdout, new RegExp(`runs on Node\\.js .*not on ${name}.*Run this app with node`), run.report);
  }
});

test('under --frozen-intrinsics the library refuses at import, naming the flag', () => {
  // reflect-metadata threw its own TypeError there (printed as a bare {} on Node 20).
  const run = runScript(
    `try { await import('run-in-process'); console.log('imported'); } catch (error) { console.log(error.name + ': ' + error.message); }`,
    { nodeArgs: ['--frozen-intrinsics', '--no-warnings'] },
  );
  assert.equal(run.status, 0, run.report);
  assert.match(
    run.stdout,
    /^RunInProcessError: run-in-process cannot run under --frozen-intrinsics: .*Run this app without --frozen-intrinsics/,
    run.report,
  );
});

test('inline mode: only 1 or true turn it on, with a warning; anything else unclear is an error', () => {
  const script = `const { Values } = await import(${JSON.stringify(fixtureUrl('standard', 'values'))});
    try { console.log((await Values.pid()) === process.pid ? 'inline' : 'child'); }
    catch (error) { console.log(error.code, error.message); }
    await (await import('run-in-process')).shutdown();`;
  const outcome = (flag: string) => runScript(script, { env: { ...process.env, RUN_IN_PROCESS_INLINE: flag } });
  for (const on of ['1', 'true', 'TRUE']) {
    const run = outcome(on);
    assert.equal(run.stdout.trim(), 'inline', run.report);
    assert.match(run.stderr, /RUN_IN_PROCESS_INLINE is set: calls run in this process/, run.report);
  }
  for (const off of ['', '0', 'false']) assert.equal(outcome(off).stdout.trim(), 'child', off);
  // Its errors' stacks say where the call ran: here, not in a child.
  const thrown = runScript(
    `const { Values } = await import(${JSON.stringify(fixtureUrl('standard', 'values'))});
    try { await Values.throwsViews(); } catch (error) { console.log(error.stack); }`,
    { env: { ...process.env, RUN_IN_PROCESS_INLINE: '1' } },
  );
  assert.match(
    thrown.stdout,
    /throwsViews[\s\S]*at <the call above, run inline in this process; its caller below>/,
    thrown.report,
  );
  assert.doesNotMatch(thrown.stdout, /child process/, thrown.report);
  for (const unclear of ['no', 'off', 'yes']) {
    assert.match(
      outcome(unclear).stdout,
      new RegExp(`^ERR_INVALID_OPTION RUN_IN_PROCESS_INLINE is "${unclear}"`),
      unclear,
    );
  }
});

test('inline mode: a call with a timeout that runs longer than startTimeout is not taken for a stuck child', () => {
  const run = runScript(
    `const { configure, withCallOptions } = await import('run-in-process');
     const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
     configure('timeout-in-batch', { startTimeout: 100 });
     const log = ${JSON.stringify(scratchFile('inline-slow'))};
     const ran = await withCallOptions({ timeout: 60_000 }, () => inPool('timeout-in-batch').step(log, 1, { sleepMs: 400 }));
     console.log(ran.pid === process.pid);`,
    { env: { ...process.env, RUN_IN_PROCESS_INLINE: '1' } },
  );
  assert.equal(run.stdout.trim(), 'true', run.report);
});

test('inline mode: a call whose module cannot load fails alone; later calls still run', () => {
  const lostModule = scratchFile('lost.mjs');
  writeFileSync(lostModule, "throw new Error('lost at import');");
  const run = runScript(
    `const { runInProcess } = await import('run-in-process');
     const { Values } = await import(${JSON.stringify(fixtureUrl('standard', 'values'))});
     const lost = runInProcess(function lost() { return 1; }, { module: ${JSON.stringify(pathToFileURL(lostModule).href)} });
     try { await lost(); } catch (error) { console.log(error.name, /^This process \\(inline mode\\) could not load lost/.test(error.message)); }
     console.log((await Values.pid()) === process.pid);`,
    { env: { ...process.env, RUN_IN_PROCESS_INLINE: '1' } },
  );
  assert.deepEqual(run.stdout.trim().split('\n'), ['ModuleLoadError true', 'true'], run.report);
});

test('a parent under the permission model without the network still runs calls in a pool with execArgv of its own', {
  // From Node 25 the model covers the network, and a parent under it passes it on to its children.
  skip: Number(process.versions.node.split('.')[0]) < 25 && 'the permission model covers the network from Node 25',
}, () => {
  const run = runScript(
    `
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { configure, shutdown } = await import('run-in-process');
    configure('hostile-child', { size: 1, execArgv: [], timeout: 10_000 });
    const { pid } = inPool('hostile-child');
    for (let i = 0; i < 3; i++) console.log(typeof (await pid()));
    await shutdown();`,
    { nodeArgs: ['--permission', '--allow-fs-read=*', '--allow-fs-write=*', '--allow-child-process'], timeout: 15_000 },
  );
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout, 'number\nnumber\nnumber\n', run.report);
});

test('without /proc (a chroot or sandbox that mounts none), a child serves call after call, not one each', {
  skip:
    process.platform !== 'linux' ||
    spawnSync('unshare', ['--mount', '--fork', 'sh', '-c', 'mount -t tmpfs none /proc'], { timeout: 5_000 }).status !==
      0
      ? 'needs Linux, root and unshare (a mount namespace with an empty /proc)'
      : false,
}, () => {
  // process.memoryUsage() throws there, and tinypool's child entry calls it after every task: each
  // child ended after its first call, with a CHILD_THREW warning, and the pool started a new one.
  // A sandboxed child as well, which starts no sentinel of its own.
  const fixtures = dirname(fileURLToPath(fixtureUrl('standard', 'pooled')));
  const script = `const { configure, shutdown, stats } = await import('run-in-process');
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    configure('no-proc', { size: 1 });
    configure('no-proc-sandboxed', { size: 1, permissions: { fsRead: [${JSON.stringify(fixtures)}] } });
    for (const pool of ['no-proc', 'no-proc-sandboxed']) {
      const pids = new Set();
      for (let i = 0; i < 5; i++) pids.add(await inPool(pool).pid());
      console.log(pids.size, stats(pool).completed);
    }
    await shutdown();`;
  const run = spawnSync(
    'unshare',
    [
      '--mount',
      '--fork',
      'sh',
      '-c',
      'mount -t tmpfs none /proc && exec "$0" --input-type=module -e "$1"',
      process.execPath,
      script,
    ],
    { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 },
  );
  const report = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, report);
  assert.equal(run.stdout.trim(), '1 5\n1 5', report);
  assert.doesNotMatch(run.stderr, /RUN_IN_PROCESS_CHILD_THREW/, report);
});

test('a single executable application (node --build-sea) is refused a local pool, saying why, instead of forking copies of itself', {
  skip: !spawnSync(process.execPath, ['--help'], { encoding: 'utf8' }).stdout.includes('--build-sea')
    ? 'needs node --build-sea (Node 25.5 and later)'
    : false,
}, () => {
  // Its binary runs the app's embedded main whatever its arguments: each child was a copy of the
  // app, whose own calls forked copies again, a chain that outlived the app.
  const dir = mkdtempSync(join(tmpdir(), 'run-in-process-sea-'));
  try {
    const log = join(dir, 'mains.log');
    const pooled = fileURLToPath(fixtureUrl('standard', 'pooled'));
    writeFileSync(
      join(dir, 'main.cjs'),
      `const { appendFileSync } = require('node:fs');
       appendFileSync(${JSON.stringify(log)}, 'main\\n');
       if (process.argv.length > 2) process.exit(3); // A copy started as a child: no further.
       const { createRequire } = require('node:module');
       const load = createRequire(${JSON.stringify(pooled)});
       const { configure, shutdown, stats, warmUp } = load('run-in-process');
       load(${JSON.stringify(pooled)}).inPool('sea').pid().then(
         () => console.log('ran'),
         (error) => console.log(error.name + ': ' + error.message),
       ).then(() => {
         console.log('failed ' + stats('sea').failed); // A call all the same.
         // The pool code is loaded now: a configure() with warm children must not throw, warmUp() says why.
         try { configure('sea', { size: 1, minChildren: 1 }); console.log('configured'); } catch (error) { console.log('configure() threw ' + error.name); }
         return warmUp('sea').then(() => console.log('warm'), (error) => console.log('warmUp(): ' + error.name));
       }).finally(() => shutdown({ deadline: 1_000 }));`,
    );
    writeFileSync(
      join(dir, 'sea-config.json'),
      JSON.stringify({ main: 'main.cjs', output: 'app', disableExperimentalSEAWarning: true }),
    );
    const built = spawnSync(process.execPath, ['--build-sea', 'sea-config.json'], { cwd: dir, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const run = spawnSync(join(dir, 'app'), [], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    const report = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 0, report);
    assert.match(
      run.stdout,
      /^ChildStartupError: Pool 'sea' cannot start child processes from a single executable application.*\nfailed 1\nconfigured\nwarmUp\(\): ChildStartupError\n$/,
      report,
    );
    assert.equal(readFileSync(log, 'utf8'), 'main\n', 'the app ran once, no copy of it as a child');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a working directory deleted after a chdir (a pruned release folder) does not stop calls, sandboxed or not', () => {
  // process.cwd() throws then (ENOENT), and the fork hook asked it for every child: each call failed,
  // for good, with a bare RunInProcessError, where a plain fork() works.
  const fixtures = dirname(fileURLToPath(fixtureUrl('standard', 'pooled')));
  const run = runScript(`const { configure, shutdown } = await import('run-in-process');
    const { mkdtempSync, rmdirSync } = await import('node:fs');
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    configure('cwd-gone-sandboxed', { size: 1, permissions: { fsRead: [${JSON.stringify(fixtures)}] } });
    const folder = mkdtempSync(${JSON.stringify(join(tmpdir(), 'run-in-process-cwd-'))});
    process.chdir(folder);
    rmdirSync(folder);
    for (const pool of ['cwd-gone', 'cwd-gone-sandboxed']) {
      console.log(await inPool(pool).pid().then((pid) => typeof pid, (error) => error.name + ': ' + error.message));
    }
    await shutdown();`);
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout.trim(), 'number\nnumber', run.report);
});

test("a target declared in a framework's server bundle (Next.js's .next/) fails saying it is a bundle, and what to do", () => {
  // The chunk registers nothing in the child: the message blamed an import or a helper module.
  const dir = mkdtempSync(join(tmpdir(), 'run-in-process-next-'));
  try {
    const chunk = join(dir, '.next', 'server', 'chunks', 'route.mjs');
    mkdirSync(dirname(chunk), { recursive: true });
    writeFileSync(chunk, 'export const nothing = 1;\n');
    const library = pathToFileURL(join(repoRoot, 'dist', 'index.js')).href;
    writeFileSync(
      join(dir, 'caller.mjs'),
      `const { runInProcess } = await import(${JSON.stringify(library)});
       export const fib = runInProcess(async function fib() {}, { module: ${JSON.stringify(pathToFileURL(chunk).href)} });`,
    );
    const run = runScript(`const { fib } = await import(${JSON.stringify(pathToFileURL(join(dir, 'caller.mjs')).href)});
      const { shutdown } = await import(${JSON.stringify(library)});
      console.log(await fib().then(() => 'ran', (error) => error.name + ': ' + error.message));
      await shutdown();`);
    assert.equal(run.status, 0, run.report);
    assert.match(
      run.stdout,
      /^ModuleLoadError: .*registered nothing.* is a bundler's output .*Keep run-in-process out of the bundle \(Next\.js: serverExternalPackages\)/,
      run.report,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the library's files removed while the app runs (an old release folder deleted): a pool that starts says so, not that it was bundled", () => {
  const release = scratchFile('release');
  const library = join(release, 'node_modules', 'run-in-process');
  mkdirSync(library, { recursive: true });
  cpSync(join(repoRoot, 'dist'), join(library, 'dist'), { recursive: true });
  cpSync(join(repoRoot, 'package.json'), join(library, 'package.json'));
  const { dependencies } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  for (const name of Object.keys(dependencies))
    symlinkSync(join(repoRoot, 'node_modules', name), join(release, 'node_modules', name));
  writeFileSync(
    join(release, 'work.mjs'),
    `import { runInProcess } from 'run-in-process';
export const double = runInProcess(async function double(x) { return x * 2; });
`,
  );
  writeFileSync(
    join(release, 'app.mjs'),
    `import { rmSync } from 'node:fs';
import { shutdown } from 'run-in-process';
import { double } from './work.mjs';
console.log('before:', await double(21));
await shutdown();
rmSync(${JSON.stringify(library)}, { recursive: true, force: true });
console.log('after:', await double(21).catch((error) => error.message));
`,
  );
  const run = runScript(pathToFileURL(join(release, 'app.mjs')), { cwd: release });
  assert.equal(run.status, 0, run.report);
  assert.match(run.stdout, /^before: 42$/m, run.report);
  assert.match(
    run.stdout,
    /^after: run-in-process cannot start child processes: its files were removed while this app ran/m,
  );
  assert.doesNotMatch(run.stdout, /bundled/, run.report);
});
