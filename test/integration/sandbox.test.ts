import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { configure, ModuleLoadError, shutdown } from 'run-in-process';
import {
  childPids,
  commandOf,
  fixture,
  fixtureUrl,
  isAlive,
  repoRoot,
  scratchFile,
  waitFor,
  waitForFile,
} from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { runScript, startScript } from '../helpers/scripts.js';

// Sandboxed pools: children under Node's permission model (the `permissions` option), on whichever
// Node line runs the suite (20, 22 and 24 in `npm test`).

type SandboxModule = typeof import('../fixtures/src/sandboxed.js');
const { inSandbox } = await fixture<SandboxModule>('standard', 'sandboxed');
/** The compiled fixtures: a sandboxed pool must be allowed to read the modules it runs. */
const fixtures = dirname(fileURLToPath(fixtureUrl('standard', 'sandboxed')));
const major = Number(process.versions.node.split('.')[0]);

function folder(name: string): string {
  const path = scratchFile(name);
  mkdirSync(path);
  return path;
}
const readable = folder('readable');
const writable = folder('writable');
const outside = folder('outside');
writeFileSync(join(readable, 'data.txt'), 'granted');
writeFileSync(join(outside, 'secret.txt'), 'not for plugins');

after(() => shutdown());

/** The error a call rejects with, and the fields Node's permission model sets on it. */
async function deniedBy(call: Promise<unknown>): Promise<Error & Denied> {
  return (await rejectionOf(call, Error)) as Error & Denied;
}

interface Denied {
  code?: string;
  permission?: string;
  resource?: string;
}

test('a sandboxed child reads and writes what it is granted, and is denied the rest with the error Node gives', async () => {
  configure('sandbox', { size: 1, permissions: { fsRead: [fixtures, readable], fsWrite: [writable] } });
  const { read, write } = inSandbox('sandbox');
  assert.equal(await read(join(readable, 'data.txt')), 'granted');
  assert.equal(await write(join(writable, 'out.txt'), 'written'), 'written'.length);
  assert.equal(readFileSync(join(writable, 'out.txt'), 'utf8'), 'written');

  const readDenied = await deniedBy(read(join(outside, 'secret.txt')));
  assert.equal(readDenied.code, 'ERR_ACCESS_DENIED');
  assert.equal(readDenied.permission, 'FileSystemRead');
  assert.equal(readDenied.resource, join(outside, 'secret.txt'));

  const writeDenied = await deniedBy(write(join(readable, 'data.txt'), 'overwritten'));
  assert.equal(writeDenied.code, 'ERR_ACCESS_DENIED');
  assert.equal(writeDenied.permission, 'FileSystemWrite');
  assert.equal(readFileSync(join(readable, 'data.txt'), 'utf8'), 'granted', 'the file is unchanged');
});

test('a sandboxed child cannot read through a descriptor its parent inherited open', () => {
  // As `node app.js 200< secret.txt` starts the parent: the descriptor, open without close-on-exec, is
  // inherited by every child, and the permission model does not check reads through a descriptor.
  // (A low number would not show it: the child's own pipes take the low numbers.)
  const secret = openSync(join(outside, 'secret.txt'), 'r');
  try {
    const run = runScript(
      `
      const { inSandbox } = await import(${JSON.stringify(fixtureUrl('standard', 'sandboxed'))});
      const { configure, shutdown } = await import('run-in-process');
      configure('sandbox-granted', { size: 1, permissions: { fsRead: [${JSON.stringify(fixtures)}] } });
      try {
        console.log('read: ' + (await inSandbox('sandbox-granted').readDescriptor(200)));
      } catch (error) {
        console.log('refused: ' + error.code);
      }
      await shutdown();`,
      { descriptors: [...Array.from({ length: 197 }, () => 'ignore' as const), secret] },
    );
    // Closed before the pool's code ran: the number may since name one of Node's own (a pipe: ESPIPE).
    assert.match(run.stdout, /^(refused|read): /m, run.report);
    assert.doesNotMatch(run.stdout, /not for plugins/, run.report);
  } finally {
    closeSync(secret);
  }
});

test("a parent's NODE_OPTIONS passed on through envAllow that would widen the sandbox is refused when the pool starts", async () => {
  const parentOptions = process.env['NODE_OPTIONS'];
  configure('sandbox-env', { size: 1, permissions: { fsRead: [fixtures] }, envAllow: ['NODE_OPTIONS'] });
  // Changed after configure() checked it: the pool checks again as it starts its children.
  process.env['NODE_OPTIONS'] = '--allow-fs-read=/';
  try {
    const error = await rejectionOf(inSandbox('sandbox-env').read(join(outside, 'secret.txt')), TypeError);
    assert.match(
      error.message,
      /NODE_OPTIONS its children would get \(through envAllow\) hold --allow-fs-read=\/, which would widen/,
    );
  } finally {
    if (parentOptions === undefined) delete process.env['NODE_OPTIONS'];
    else process.env['NODE_OPTIONS'] = parentOptions;
  }
});

test('a call to a sandboxed pool made from a child that is not sandboxed is refused, not run there with its rights', async () => {
  const { viaHost } = await fixture<typeof import('../fixtures/src/nested-sandbox.js')>('standard', 'nested-sandbox');
  configure('nested-host', { size: 1 });
  const refused = await rejectionOf(viaHost(), TypeError);
  assert.equal((refused as TypeError & { code?: string }).code, 'ERR_INVALID_USAGE');
  assert.match(
    refused.message,
    /readHostname was called from code running in a child process.*pool "nested-sandboxed" is \(permissions\)/,
  );
  const { viaHostToMethod } = await fixture<typeof import('../fixtures/src/nested-sandbox.js')>(
    'standard',
    'nested-sandbox',
  );
  const method = await rejectionOf(viaHostToMethod(), TypeError);
  assert.match(method.message, /^SandboxedTools\.hostname was called from code running in a child process/);
});

test('processes, threads, addons and WASI are denied unless granted', async () => {
  // --no-warnings: Node warns of WASI (experimental) and of each granted flag, once per child.
  configure('sandbox', { size: 1, execArgv: ['--no-warnings'], permissions: { fsRead: [fixtures] } });
  const denied = inSandbox('sandbox');
  const spawnDenied = await deniedBy(denied.spawnTrue());
  assert.deepEqual([spawnDenied.code, spawnDenied.permission], ['ERR_ACCESS_DENIED', 'ChildProcess']);
  const workerDenied = await deniedBy(denied.startWorker());
  assert.deepEqual([workerDenied.code, workerDenied.permission], ['ERR_ACCESS_DENIED', 'WorkerThreads']);
  const addonDenied = await deniedBy(denied.loadAddon('/nonexistent/addon.node'));
  assert.equal(addonDenied.code, 'ERR_DLOPEN_DISABLED');
  const wasiDenied = await deniedBy(denied.startWasi());
  assert.deepEqual([wasiDenied.code, wasiDenied.permission], ['ERR_ACCESS_DENIED', 'WASI']);

  configure('sandbox-granted', {
    size: 1,
    execArgv: ['--no-warnings'],
    permissions: { fsRead: [fixtures], childProcess: true, worker: true, addons: true, wasi: true },
  });
  const granted = inSandbox('sandbox-granted');
  assert.equal(await granted.spawnTrue(), 0);
  assert.equal(await granted.startWorker(), 0);
  // Allowed to try, the load now fails on the missing file instead of the permission.
  const missing = await deniedBy(granted.loadAddon('/nonexistent/addon.node'));
  assert.equal(missing.code, 'ERR_DLOPEN_FAILED');
  assert.equal(await granted.startWasi(), 'started');
});

test('V8 flags, heap snapshots and trace events asked for from inside a sandboxed child are denied: they write files the model does not see', async () => {
  // A hostile review wrote shell lines into a file outside fsWrite: a V8 flag set at run time, then
  // a hot function whose name held them (--trace-turbo-cfg-file); this flag writes as plainly.
  const traces = join(outside, 'code-traces.txt');
  configure('sandbox', { size: 1, permissions: { fsRead: [fixtures] } });
  const denied = await inSandbox('sandbox').setRuntimeFlags(`--redirect-code-traces-to=${traces}`);
  assert.deepEqual(denied, {
    flags: 'ERR_ACCESS_DENIED',
    binding: 'ERR_ACCESS_DENIED',
    restored: 'undefined', // A TypeError: the property can be neither written nor redefined.
    heapSnapshot: 'ERR_ACCESS_DENIED',
    trace: 'ERR_ACCESS_DENIED',
  });
  assert.equal(existsSync(traces), false);
  // Other pools are left as Node makes them.
  configure('not-sandboxed-flags', { size: 1 });
  const plain = await inSandbox('not-sandboxed-flags').setRuntimeFlags('--expose-gc');
  assert.deepEqual([plain.flags, plain.binding, plain.restored], ['done', 'done', 'done']);
});

test("a sandboxed pool gets none of the parent's environment unless env or envAllow give it", async () => {
  process.env['RIP_SANDBOX_SECRET'] = 'from the parent';
  configure('sandbox-env', { size: 1, permissions: { fsRead: [fixtures] } });
  const scrubbed = await inSandbox('sandbox-env').environment();
  assert.deepEqual(scrubbed.names, []);
  assert.equal(scrubbed.sandboxed, true);
  assert.ok(
    scrubbed.execArgv.includes(major >= 22 ? '--permission' : '--experimental-permission'),
    `the running Node line's flag: ${scrubbed.execArgv.join(' ')}`,
  );

  configure('sandbox-env', { size: 1, permissions: { fsRead: [fixtures] }, envAllow: ['RIP_SANDBOX_SECRET'] });
  assert.deepEqual((await inSandbox('sandbox-env').environment()).names, ['RIP_SANDBOX_SECRET']);
  configure('sandbox-env', { size: 1, permissions: { fsRead: [fixtures] }, env: { GIVEN: '1' } });
  assert.deepEqual((await inSandbox('sandbox-env').environment()).names, ['GIVEN']);
});

test('envAllow on any pool passes exactly the named variables; without it a pool inherits all, and no permission flag', async () => {
  process.env['RIP_SANDBOX_SECRET'] = 'from the parent';
  configure('env-allow', { size: 1, envAllow: ['RIP_SANDBOX_SECRET', 'PATH', 'RIP_NOT_SET'] });
  const allowed = await inSandbox('env-allow').environment();
  assert.deepEqual(allowed.names, ['PATH', 'RIP_SANDBOX_SECRET']);
  assert.equal(allowed.sandboxed, false);

  configure('not-sandboxed', { size: 1 });
  const plain = await inSandbox('not-sandboxed').environment();
  assert.ok(plain.names.includes('RIP_SANDBOX_SECRET') && plain.names.includes('PATH'));
  assert.equal(plain.sandboxed, false);
  assert.deepEqual(
    plain.execArgv.filter((flag) => /permission|--allow-/.test(flag)),
    [],
  );
});

test('a plugin outside the read list fails with a ModuleLoadError that names the folder to add', async () => {
  const plugins = folder('plugins');
  const library = new URL('../../../dist/index.js', import.meta.url).href;
  const plugin = join(plugins, 'hello.mjs');
  writeFileSync(
    plugin,
    `import { runInProcess } from ${JSON.stringify(library)};
     export const hello = runInProcess(async function hello() { return 'hello from ' + process.pid; }, { pool: 'sandbox-plugins' });`,
  );
  const { hello } = (await import(pathToFileURL(plugin).href)) as { hello: () => Promise<string> };
  configure('sandbox-plugins', { size: 1, permissions: { fsRead: [fixtures] } });
  const error = await rejectionOf(hello(), ModuleLoadError);
  assert.ok(error.message.includes(`Add '${plugins}'`), error.message);
  assert.match(error.message, /permissions\.fsRead/);
  assert.equal((error.cause as Denied).code, 'ERR_ACCESS_DENIED');

  configure('sandbox-plugins', { size: 1, permissions: { fsRead: [plugins] } });
  assert.match(await hello(), /^hello from \d+$/);
});

test("an error class a sandboxed plugin exports is not looked up by importing the plugin in the parent: a stub's module runs only in children", () => {
  const plugins = folder('stubbed-plugins');
  const library = new URL('../../../dist/index.js', import.meta.url).href;
  const plugin = join(plugins, 'evil.mjs');
  const ran = scratchFile('evil-ran');
  // Its top-level code notes the process it runs in, where it may write: the parent, if it imports it.
  writeFileSync(
    plugin,
    `import { appendFileSync } from 'node:fs';
     import { runInProcess } from ${JSON.stringify(library)};
     try { appendFileSync(${JSON.stringify(ran)}, process.pid + '\\n'); } catch {}
     export class PluginError extends Error {}
     export const run = runInProcess(async function run() { throw new PluginError('from the plugin'); });`,
  );
  // The README's pattern: the parent declares a stub, and names the plugin's module for the children.
  const run = runScript(
    `const { configure, runInProcess, shutdown } = await import(${JSON.stringify(library)});
     configure({ size: 1, permissions: { fsRead: [${JSON.stringify(plugins)}] } });
     const run = runInProcess(async function run() { throw new Error('the stub never runs'); },
       { module: ${JSON.stringify(pathToFileURL(plugin).href)} });
     const error = await run().catch((error) => error);
     console.log('failed:', error.constructor.name, error.message);
     await shutdown();
     console.log('parent:', process.pid);`,
    { timeout: 20_000 },
  );
  assert.equal(run.status, 0, run.report);
  assert.match(run.stdout, /^failed: Error from the plugin$/m, run.report);
  const parent = /^parent: (\d+)$/m.exec(run.stdout)?.[1];
  assert.ok(parent, run.report);
  const ranIn = existsSync(ran) ? readFileSync(ran, 'utf8').trim().split('\n') : [];
  assert.ok(!ranIn.includes(parent), `the plugin's top-level code ran in the parent (pid ${parent}): ${ranIn}`);
  assert.match(
    run.stderr,
    /evil\.mjs was named by a `module` option, and its code has not run in this process, which does not import it to look for PluginError \(that would run its code here\)\. .*registerError\(PluginError\)/,
    run.report,
  );
});

test('a sandboxed pool asked to run a TypeScript module (the parent under tsx) says to compile it, not to pass a loader on', () => {
  // tsx cannot run in a sandboxed child, and a sandboxed pool does not inherit the parent's flags:
  // "start the parent with a loader that it passes on" would send the user in a circle.
  const plugins = folder('typescript-plugins');
  const library = new URL('../../../dist/index.js', import.meta.url).href;
  const plugin = join(plugins, 'greeter.mts');
  writeFileSync(
    plugin,
    `import { configure, runInProcess } from ${JSON.stringify(library)};
     configure('sandbox-ts', { size: 1, permissions: { fsRead: [${JSON.stringify(plugins)}] } });
     export class Greeter {
       @runInProcess({ pool: 'sandbox-ts' })
       static async greet(name: string): Promise<string> { return 'hello ' + name; }
     }`,
  );
  // Decorators: Node 22 and later strip a module's types by themselves, but not its decorators.
  const run = runScript(
    `const { shutdown } = await import(${JSON.stringify(library)});
     const { Greeter } = await import(${JSON.stringify(pathToFileURL(plugin).href)});
     try { await Greeter.greet('x'); } catch (error) { console.log(error.name + ': ' + error.message); }
     await shutdown();`,
    { nodeArgs: ['--import', 'tsx'] },
  );
  assert.equal(run.status, 0, run.report);
  assert.match(run.stdout, /^ModuleLoadError: The sandboxed child process could not load Greeter\.greet/, run.report);
  assert.match(run.stdout, /A sandboxed child cannot load TypeScript: .* Compile the module to JavaScript/, run.report);
  assert.doesNotMatch(run.stdout, /--import', 'tsx'|loader that it passes on/, run.report);
});

// The reaper is a /bin/sh where there is one; as on Windows (RUN_IN_PROCESS_IPC_ONLY=1 here), a Node process.
for (const [reaper, env] of [
  ['/bin/sh', process.env],
  ['Node', { ...process.env, RUN_IN_PROCESS_IPC_ONLY: '1' }],
] as const) {
  test(`when the parent is killed with SIGKILL, a sandboxed child stuck in a CPU loop exits, with no watchdog thread (a ${reaper} reaper)`, async () => {
    const started = scratchFile(`spinning-${reaper === 'Node' ? 'node' : 'sh'}`);
    const parent = startScript(
      `
    const { inSandbox } = await import(${JSON.stringify(fixtureUrl('standard', 'sandboxed'))});
    const { configure } = await import('run-in-process');
    // worker: false, so the child can have no thread to watch its parent with.
    configure('sandbox-orphans', { size: 1, permissions: { fsRead: [${JSON.stringify(fixtures)}], fsWrite: [${JSON.stringify(dirname(started))}], worker: false } });
    inSandbox('sandbox-orphans').spin(60_000, ${JSON.stringify(started)});`,
      { env },
    );
    let stderr = '';
    parent.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const exited = once(parent, 'exit');
    try {
      const childPid = Number(await waitForFile(started, 15_000));
      assert.ok(childPid > 0 && isAlive(childPid), `the child is running its CPU loop\n${stderr}`);
      // The child and the reaper: both must be gone once the parent is.
      const processes = childPids(parent.pid);
      assert.ok(processes.includes(childPid) && processes.length >= 2, `${processes.join(' ')}\n${stderr}`);
      const reaperPid = processes.find((pid) => commandOf(pid).includes('run-in-process-reaper'));
      assert.ok(reaperPid !== undefined, `a reaper runs beside the child: ${processes.map(commandOf).join(' / ')}`);
      assert.equal(commandOf(reaperPid).split(' ')[0] === '/bin/sh', reaper === '/bin/sh', commandOf(reaperPid));
      parent.kill('SIGKILL');
      await exited;
      const gone = await waitFor(() => processes.every((pid) => !isAlive(pid)), 5_000);
      assert.ok(gone !== undefined, `${processes.filter(isAlive).join(' ')} outlived their parent`);
    } finally {
      parent.kill('SIGKILL');
    }
  });
}

test("an fsRead that names a path twice, or the library's own folder, starts children (Node 20 aborts on a flag given twice)", async () => {
  configure('sandbox', {
    size: 1,
    permissions: { fsRead: [fixtures, `${fixtures}/`, join(repoRoot, 'dist')], fsWrite: [outside, outside] },
  });
  const { sandboxed } = await inSandbox('sandbox').environment();
  assert.equal(sandboxed, true);
});

test('a sandboxed pool never runs inline, even with RUN_IN_PROCESS_INLINE=1', () => {
  const run = runScript(
    `const { inSandbox } = await import(${JSON.stringify(fixtureUrl('standard', 'sandboxed'))});
     const { configure } = await import('run-in-process');
     configure('sandbox', { permissions: { fsRead: [${JSON.stringify(fixtures)}] } });
     try { await inSandbox('sandbox').environment(); console.log('ran'); }
     catch (error) { console.log(error.code, error.message); }`,
    { env: { ...process.env, RUN_IN_PROCESS_INLINE: '1' } },
  );
  assert.match(run.stdout, /^ERR_INVALID_USAGE .*pool 'sandbox' is sandboxed/, run.report);
});

test('the reaper lives only while there are sandboxed children, and never keeps the parent alive', () => {
  const run = runScript(
    `const { inSandbox } = await import(${JSON.stringify(fixtureUrl('standard', 'sandboxed'))});
     const { childPids, waitFor } = await import(${JSON.stringify(new URL('../helpers/fixtures.js', import.meta.url).href)});
     const { configure, shutdown } = await import('run-in-process');
     configure('sandbox', { size: 1, permissions: { fsRead: [${JSON.stringify(fixtures)}] } });
     await inSandbox('sandbox').environment();
     console.log('while serving', childPids().length);
     await shutdown();
     console.log('after shutdown', (await waitFor(() => childPids().length === 0, 5_000)) === undefined ? childPids().length : 0);
     await inSandbox('sandbox').environment();
     console.log('served again');`,
  );
  assert.equal(run.status, 0, run.report);
  assert.match(run.stdout, /^while serving 2$/m, run.report);
  assert.match(run.stdout, /^after shutdown 0$/m, run.report);
  assert.match(run.stdout, /^served again$/m, run.report);
});

test("a sandboxed child cannot open the parent's or a sibling child's inspector with SIGUSR1", async () => {
  configure('sandbox', { size: 1, permissions: { fsRead: [fixtures] } });
  configure('not-sandboxed', { size: 1 });
  const { url } = await import('node:inspector');
  const started = scratchFile('sibling');
  const sibling = await inSandbox('not-sandboxed').spin(0, started);
  await inSandbox('sandbox').signal(process.pid, 'SIGUSR1');
  await inSandbox('sandbox').signal(sibling, 'SIGUSR1');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(url(), undefined, "the parent's inspector stays closed");
  assert.equal(await inSandbox('not-sandboxed').spin(0, started), sibling, 'the same sibling answers');
  assert.equal(await inSandbox('not-sandboxed').inspectorUrl(), null, "the sibling's inspector stays closed");
});

test('from a worker thread, a sandboxed pool is refused unless the process was started with its inspector shut', () => {
  // A thread's SIGUSR1 listener does nothing for the process: Node opens its inspector all the same.
  const thread = `(async () => {
    const { parentPort } = await import('node:worker_threads');
    const { configure } = await import('run-in-process');
    const { inSandbox } = await import(${JSON.stringify(fixtureUrl('standard', 'sandboxed'))});
    configure('sandbox', { size: 1, permissions: { fsRead: [${JSON.stringify(fixtures)}] } });
    try {
      await inSandbox('sandbox').signal(process.pid, 'SIGUSR1');
      await new Promise((resolve) => setTimeout(resolve, 300));
      parentPort.postMessage('ran');
    } catch (error) {
      parentPort.postMessage(error.code + ': ' + error.message);
    }
  })()`;
  const script = (workerOptions: string, before = '') => `${before}
    const { Worker } = await import('node:worker_threads');
    const { once } = await import('node:events');
    const { url } = await import('node:inspector');
    const [outcome] = await once(new Worker(${JSON.stringify(thread)}, { eval: true, ${workerOptions} }), 'message');
    console.log(outcome);
    console.log('inspector: ' + (url() ?? 'closed'));`;
  const refused = /^ERR_INVALID_USAGE: Sandboxed pool 'sandbox' is used from a worker thread/m;
  const plain = runScript(script(''), { timeout: 20_000 });
  assert.equal(plain.status, 0, plain.report);
  assert.match(plain.stdout, refused, plain.report);
  assert.match(plain.stdout, /^inspector: closed$/m, plain.report);
  // What a Worker's options say does not reach the process: taken at their word, they let the inspector open.
  const canDisable = process.allowedNodeEnvironmentFlags.has('--disable-sigusr1');
  const told = runScript(
    script(
      canDisable
        ? `execArgv: ['--inspect-port=0.0.0.1:9229'], env: { ...process.env, NODE_OPTIONS: '--disable-sigusr1' }`
        : `execArgv: ['--inspect-port=0.0.0.1:9229']`,
    ),
    { timeout: 20_000 },
  );
  assert.match(told.stdout, refused, told.report);
  if (!process.allowedNodeEnvironmentFlags.has('--disable-sigusr1')) {
    assert.match(
      plain.stdout,
      /has no --disable-sigusr1 \(Node 22\.14 and later have it\): use it from the main thread/,
    );
    return;
  }
  assert.match(plain.stdout, /Start node with --disable-sigusr1 /, plain.report);
  // Started as the message says, the call runs, and the child's SIGUSR1 opens nothing; also after the main
  // thread used a sandboxed pool itself (its guard, a SIGUSR1 listener, would have made the signal caught).
  const mainFirst = `const { configure } = await import('run-in-process');
    const { inSandbox } = await import(${JSON.stringify(fixtureUrl('standard', 'sandboxed'))});
    configure('sandbox-granted', { size: 1, permissions: { fsRead: [${JSON.stringify(fixtures)}] } });
    await inSandbox('sandbox-granted').environment();`;
  const shut = runScript(script('', mainFirst), { timeout: 20_000, nodeArgs: ['--disable-sigusr1'] });
  assert.equal(shut.status, 0, shut.report);
  assert.match(shut.stdout, /^ran\ninspector: closed$/m, shut.report);
});

test('a worker thread refuses a pool that the thread that started it sandboxed, and that it never configured itself', () => {
  // Each thread has pools of its own: unconfigured there, the pool would run with the defaults, unsandboxed.
  const thread = `(async () => {
    const { parentPort } = await import('node:worker_threads');
    const { inSandbox } = await import(${JSON.stringify(fixtureUrl('standard', 'sandboxed'))});
    const outcome = (promise) => promise.then((value) => 'ran: ' + String(value).slice(0, 20), (error) => error.code + ': ' + error.message);
    parentPort.postMessage([
      await outcome(inSandbox('sandbox').read('/etc/hostname')),
      await outcome(inSandbox('not-sandboxed').read('/etc/hostname').then(() => 'read')),
    ]);
  })()`;
  const run = runScript(
    `const { Worker } = await import('node:worker_threads');
     const { once } = await import('node:events');
     const { configure, shutdown } = await import('run-in-process');
     configure('sandbox', { size: 1, permissions: { fsRead: [${JSON.stringify(fixtures)}] } });
     configure('not-sandboxed', { size: 1, permissions: { fsRead: [${JSON.stringify(fixtures)}] } });
     configure('not-sandboxed', { size: 1 }); // sandboxed no more
     const [outcomes] = await once(new Worker(${JSON.stringify(thread)}, { eval: true }), 'message');
     console.log(JSON.stringify(outcomes));
     await shutdown();`,
    { timeout: 20_000 },
  );
  assert.equal(run.status, 0, run.report);
  const [sandboxed, plain] = JSON.parse(run.stdout) as [string, string];
  assert.match(
    sandboxed,
    /^ERR_INVALID_USAGE: Pool "sandbox" is sandboxed \(permissions\) in the thread that started this worker thread, but was never configured in this one/,
  );
  // A pool the starting thread does not sandbox runs with the defaults, as an unconfigured pool does, with a warning.
  assert.equal(plain, 'ran: read', run.report);
  assert.match(run.stderr, /RUN_IN_PROCESS_UNCONFIGURED_POOL/, run.report);
});

test("SIGUSR1 cannot open a child's inspector while it boots, before the runner's own listener", async () => {
  // An --import module runs before tinypool's entry and the runner: a sibling's SIGUSR1 then would
  // reach Node's own handler. The module signals its own child and reports whether an inspector opened.
  const report = scratchFile('boot-inspector');
  const probe = `${scratchFile('boot-probe')}.mjs`;
  writeFileSync(
    probe,
    `import { url } from 'node:inspector'; import { writeFileSync } from 'node:fs';
     process.kill(process.pid, 'SIGUSR1');
     await new Promise((resolve) => setTimeout(resolve, 300));
     writeFileSync(${JSON.stringify(report)}, String(url() ?? 'closed'));`,
  );
  configure('not-sandboxed', { size: 1, execArgv: ['--import', pathToFileURL(probe).href] });
  await inSandbox('not-sandboxed').environment();
  assert.equal(readFileSync(report, 'utf8'), 'closed', 'the booting child opened no inspector');
});

test("a sandboxed child cannot open the reaper's inspector with SIGUSR1, nor end it with other signals", async () => {
  configure('sandbox', { size: 1, permissions: { fsRead: [fixtures] } });
  await inSandbox('sandbox').environment();
  const reaper = childPids().find((pid) => commandOf(pid).includes('run-in-process-reaper'));
  assert.ok(reaper !== undefined, 'a reaper runs beside the sandboxed child');
  // A shell of its builtins: no inspector, and a small fraction of a Node process's memory.
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${reaper}/status`, 'utf8'))?.[1]);
  assert.ok(rssKiB < 8 * 1024, `the reaper holds ${rssKiB} KiB`);
  // It ignores the signals that end or pause a shell: only SIGKILL (or SIGSTOP) gets past it.
  for (const signal of ['SIGUSR1', 'SIGTERM', 'SIGHUP', 'SIGINT', 'SIGTSTP'] as const) {
    await inSandbox('sandbox').signal(reaper, signal);
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(isAlive(reaper), 'the reaper ignored the signals');
  assert.match(
    readFileSync(`/proc/${reaper}/stat`, 'utf8').split(') ')[1]!,
    /^S /,
    'the reaper still waits on its pipe',
  );
  // An inspector would listen on a TCP port with a socket of the reaper's: none of its sockets listens.
  const sockets = new Set(
    readdirSync(`/proc/${reaper}/fd`).flatMap((fd) => {
      const link = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${reaper}/fd/${fd}`));
      return link ? [link[1]] : [];
    }),
  );
  const listening = ['tcp', 'tcp6']
    .flatMap((table) => readFileSync(`/proc/net/${table}`, 'utf8').split('\n').slice(1))
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[3] === '0A' && sockets.has(fields[9]!));
  assert.deepEqual(listening, [], 'the reaper listens on no TCP port');
});

test('a reaper that a sandboxed child stops is let go on within a second or two, and replaced if it is stopped again and again', async () => {
  configure('sandbox', { size: 1, permissions: { fsRead: [fixtures] } });
  await inSandbox('sandbox').environment();
  const reaperOf = () => childPids().find((pid) => commandOf(pid).includes('run-in-process-reaper'));
  const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0];
  const reaper = reaperOf();
  assert.ok(reaper !== undefined, 'a reaper runs beside the sandboxed child');
  // Stopped once while no child starts or ends: nothing else would let it go on. The check that lets
  // it go on runs each second in this process, and may run between the stop and our first look: a
  // stop not seen is tried again after the next check (which, seeing it running, forgets the stop:
  // a stop right after would otherwise count as a second one in a row, and replace the reaper).
  let seenStopped: number | undefined;
  for (let attempt = 0; attempt < 3 && seenStopped === undefined; attempt++) {
    if (attempt > 0) await sleep(1_100);
    await inSandbox('sandbox').signal(reaper, 'SIGSTOP');
    // A signal is sent at once, but the kernel stops its target the next time it is scheduled.
    seenStopped = await waitFor(() => state(reaper) === 'T', 1_000);
  }
  assert.ok(seenStopped !== undefined, 'the reaper was stopped');
  assert.ok((await waitFor(() => state(reaper) === 'S', 3_000)) !== undefined, 'the reaper was let go on');
  // Stopped again after each SIGCONT: replaced by one that runs.
  const stopper = setInterval(() => isAlive(reaper) && process.kill(reaper, 'SIGSTOP'), 50);
  try {
    const replaced = await waitFor(() => {
      const now = reaperOf();
      return now !== undefined && now !== reaper && !isAlive(reaper);
    }, 5_000);
    assert.ok(replaced !== undefined, 'the stubbornly stopped reaper was replaced');
  } finally {
    clearInterval(stopper);
  }
  // A new reaper runs for a moment as it starts, then sleeps in its read: waited for, as above.
  assert.ok((await waitFor(() => state(reaperOf()!) === 'S', 3_000)) !== undefined, 'the new reaper runs, not stopped');
});

test('node:sqlite, which opens files outside the model, is not there in a sandboxed child', {
  skip: major < 22 && 'Node 20 has no node:sqlite',
}, async () => {
  configure('sandbox', { size: 1, execArgv: ['--no-warnings'], permissions: { fsRead: [fixtures] } });
  const error = await deniedBy(inSandbox('sandbox').openSqlite(join(outside, 'app.db')));
  assert.equal(error.code, 'ERR_UNKNOWN_BUILTIN_MODULE');
});

test("a sandboxed pool does not inherit the parent's flags, and its relative paths mean the working directory of configure()", () => {
  const run = runScript(
    `const { inSandbox } = await import(${JSON.stringify(fixtureUrl('standard', 'sandboxed'))});
     const { configure, shutdown } = await import('run-in-process');
     configure('sandbox', { size: 1, permissions: { fsRead: [${JSON.stringify(fixtures)}, './relative'] } });
     configure('not-sandboxed', { size: 1 });
     process.chdir(${JSON.stringify(tmpdir())});
     console.log(JSON.stringify({ sandboxed: (await inSandbox('sandbox').environment()).execArgv, plain: (await inSandbox('not-sandboxed').environment()).execArgv }));
     await shutdown();`,
    { nodeArgs: ['--stack-size=2000'] },
  );
  assert.equal(run.status, 0, run.report);
  const { sandboxed, plain } = JSON.parse(run.stdout) as { sandboxed: string[]; plain: string[] };
  assert.ok(plain.includes('--stack-size=2000'), run.report);
  assert.ok(!sandboxed.includes('--stack-size=2000'), run.report);
  assert.ok(sandboxed.includes(`--allow-fs-read=${join(repoRoot, 'relative')}`), run.report);
});

test('a child that sends a server over its IPC channel is stopped, and the parent is not held open', () => {
  // Along a message of no one's, one in tinypool's format, and one after Node's internal messages:
  // the last two are dropped before any listener, and their server was left open, listening here.
  for (const [along, why] of [
    ['plain', 'sent a socket or a server over its IPC channel'],
    ['tinypool', 'answered, in the pool.s own format'],
    ['after internal', "sent one of Node's internal messages"],
  ] as const) {
    const run = runScript(
      `const { inSandbox } = await import(${JSON.stringify(fixtureUrl('standard', 'sandboxed'))});
       const { configure } = await import('run-in-process');
       configure('not-sandboxed', { size: 1 });
       try { await inSandbox('not-sandboxed').sendServer(${JSON.stringify(along)}); } catch (error) { console.log(error.name, error.message); }`,
      { timeout: 20_000 },
    );
    assert.equal(run.status, 0, `${along}: ${run.report}`);
    assert.match(run.stdout, new RegExp(`^ProcessCrashedError .*${why}`, 'm'), `${along}: ${run.report}`);
  }
});

test('a reaper that dies is replaced at once, and still stops the children when the parent is killed', async () => {
  const started = scratchFile('spinning-after-reaper');
  const parent = startScript(`
    const { inSandbox } = await import(${JSON.stringify(fixtureUrl('standard', 'sandboxed'))});
    const { configure } = await import('run-in-process');
    configure('sandbox-orphans', { size: 1, permissions: { fsRead: [${JSON.stringify(fixtures)}], fsWrite: [${JSON.stringify(dirname(started))}] } });
    inSandbox('sandbox-orphans').spin(60_000, ${JSON.stringify(started)});`);
  const exited = once(parent, 'exit');
  try {
    const childPid = Number(await waitForFile(started, 15_000));
    const [reaper] = childPids(parent.pid).filter((pid) => pid !== childPid);
    assert.ok(reaper !== undefined, 'a reaper runs');
    process.kill(reaper, 'SIGKILL');
    const replaced = await waitFor(
      () => childPids(parent.pid).some((pid) => pid !== childPid && pid !== reaper),
      5_000,
    );
    assert.ok(replaced !== undefined, 'a new reaper took over');
    parent.kill('SIGKILL');
    await exited;
    assert.ok((await waitFor(() => !isAlive(childPid), 5_000)) !== undefined, `child ${childPid} outlived its parent`);
  } finally {
    parent.kill('SIGKILL');
  }
});

test('a reaper a child stopped is let go on: after shutdown() none is left, and at a normal exit it still kills a running child', async () => {
  const started = scratchFile('spinning-stopped-reaper');
  const helpers = JSON.stringify(new URL('../helpers/fixtures.js', import.meta.url).href);
  const permissions = `{ fsRead: [${JSON.stringify(fixtures)}], fsWrite: [${JSON.stringify(dirname(started))}] }`;
  const run = runScript(
    `const { readFileSync } = await import('node:fs');
     const { inSandbox } = await import(${JSON.stringify(fixtureUrl('standard', 'sandboxed'))});
     const { childPids, commandOf, waitFor, waitForFile } = await import(${helpers});
     const { configure, shutdown } = await import('run-in-process');
     const stopped = (pid) => readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].startsWith('T');
     const reaper = () => childPids().find((pid) => commandOf(pid).includes('run-in-process-reaper'));
     configure('sandbox-orphans', { size: 1, permissions: ${permissions} });
     configure('sandbox', { size: 1, permissions: ${permissions} });
     // Stopped, then retired after shutdown(): let go on, it reads the end of its pipe and exits.
     await inSandbox('sandbox-orphans').environment();
     const first = reaper();
     await inSandbox('sandbox-orphans').signal(first, 'SIGSTOP');
     console.log('first stopped', (await waitFor(() => stopped(first), 2_000)) !== undefined);
     await shutdown();
     console.log('first gone', (await waitFor(() => !childPids().includes(first), 6_000)) !== undefined);
     // Stopped while a child spins, then this process exits: the child goes with it all the same.
     inSandbox('sandbox-orphans').spin(30_000, ${JSON.stringify(started)}).catch(() => {});
     const child = Number(await waitForFile(${JSON.stringify(started)}, 15_000));
     const second = reaper();
     await inSandbox('sandbox').signal(second, 'SIGSTOP');
     await waitFor(() => stopped(second), 2_000);
     console.log(JSON.stringify({ child, second, stopped: stopped(second) }));
     process.exit(0);`,
  );
  assert.equal(run.status, 0, run.report);
  assert.match(run.stdout, /^first stopped true$/m, run.report);
  assert.match(run.stdout, /^first gone true$/m, run.report);
  const last = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { child: number; second: number; stopped: boolean };
  assert.ok(last.child > 0 && last.second > 0 && last.stopped, run.report);
  const gone = await waitFor(() => !isAlive(last.child) && !isAlive(last.second), 5_000);
  assert.ok(gone !== undefined, `child ${last.child} or reaper ${last.second} outlived the parent\n${run.report}`);
});

test('a pool whose NODE_OPTIONS turn the permission model on is watched as a sandboxed one', async () => {
  const started = scratchFile('spinning-node-options');
  const flag = major >= 22 ? '--permission' : '--experimental-permission';
  const parent = startScript(`
    const { inPool } = await import(${JSON.stringify(fixtureUrl('standard', 'pooled'))});
    const { configure } = await import('run-in-process');
    configure('orphans', { size: 1, env: { NODE_OPTIONS: '${flag} --allow-fs-read=* --allow-fs-write=*' } });
    inPool('orphans').spin(60_000, ${JSON.stringify(started)});`);
  const exited = once(parent, 'exit');
  try {
    const childPid = Number(await waitForFile(started, 15_000));
    parent.kill('SIGKILL');
    await exited;
    assert.ok((await waitFor(() => !isAlive(childPid), 5_000)) !== undefined, `child ${childPid} outlived its parent`);
  } finally {
    parent.kill('SIGKILL');
  }
});

test("a pnpm workspace's layout (the library's real folder outside the app's, with a node_modules of its own): a sandboxed call runs", () => {
  // pnpm keeps the library in the workspace's store, beside its dependencies, and makes a
  // node_modules/.bin in its folder. Node 22 and later looked for reflect-metadata there first, a
  // look the sandbox denied (the folder was not granted), and every call failed with ModuleLoadError.
  const workspace = folder('pnpm-workspace');
  const store = join(workspace, 'node_modules', '.pnpm', 'run-in-process@0.1.0', 'node_modules');
  const library = join(store, 'run-in-process');
  mkdirSync(join(library, 'node_modules', '.bin'), { recursive: true });
  cpSync(join(repoRoot, 'dist'), join(library, 'dist'), { recursive: true });
  cpSync(join(repoRoot, 'package.json'), join(library, 'package.json'));
  const { dependencies } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  for (const name of Object.keys(dependencies)) symlinkSync(join(repoRoot, 'node_modules', name), join(store, name));
  const app = join(workspace, 'packages', 'app');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  symlinkSync(library, join(app, 'node_modules', 'run-in-process'));
  writeFileSync(
    join(app, 'work.mjs'),
    `import { runInProcess } from 'run-in-process';
export const guarded = runInProcess(async function guarded() { return process.pid; }, { pool: 'guarded' });
`,
  );
  writeFileSync(
    join(app, 'app.mjs'),
    `import { configure, shutdown } from 'run-in-process';
import { guarded } from './work.mjs';
configure('guarded', { permissions: { fsRead: [process.cwd()] } });
const pid = await guarded().catch((error) => error.message);
console.log(typeof pid === 'number' && pid !== process.pid ? 'ran in a child' : pid);
await shutdown();
`,
  );
  const run = runScript(pathToFileURL(join(app, 'app.mjs')), { cwd: app });
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout.trim(), 'ran in a child', run.report);
});
