import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { configure, runInProcess, shutdown } from 'run-in-process';
import { fixtureUrl, repoRoot } from '../helpers/fixtures.js';
import { runScript } from '../helpers/scripts.js';

type HasherModule = typeof import('../fixtures/src/hasher.js');

/** A plugin folder outside this package, with its own node_modules, as a host would scan at run time. */
const folder = mkdtempSync(join(tmpdir(), 'rip-plugins-'));
mkdirSync(join(folder, 'node_modules'));
symlinkSync(repoRoot, join(folder, 'node_modules', 'run-in-process'));
cpSync(fileURLToPath(fixtureUrl('standard', 'hasher')), join(folder, 'hasher-plugin.js'));
const pluginUrl = pathToFileURL(join(folder, 'hasher-plugin.js')).href;

after(async () => {
  await shutdown();
  rmSync(folder, { recursive: true, force: true });
});

test('a plugin loaded with import() from a folder outside the package runs in children', async () => {
  const plugin = (await import(pluginUrl)) as HasherModule;
  const digest = await new plugin.Hasher(1).digest(new Uint8Array([7]));
  assert.notEqual(Number(digest.split(':')[0]), process.pid);
  const parsed = await plugin.parseNumber('12');
  assert.deepEqual(parsed.value, 12);
  assert.notEqual(parsed.pid, process.pid);
});

test('a plugin loaded again under a ?v=2 query works too', async () => {
  const reloaded = (await import(`${pluginUrl}?v=2`)) as HasherModule;
  assert.notEqual(await reloaded.Hasher.version(), process.pid);
  assert.equal((await reloaded.parseNumber('5')).value, 5);
});

test('a plugin loaded again under a #v3 hash, which Node takes for a module instance of its own, works too', async () => {
  // The hash was dropped from the module's name, and the second instance's wrap refused as a wrap of
  // the first one's function.
  const reloaded = (await import(`${pluginUrl}#v3`)) as HasherModule;
  assert.notEqual(await reloaded.Hasher.version(), process.pid);
  assert.equal((await reloaded.parseNumber('6')).value, 6);
});

test('a plugin rewritten and imported again under a new query runs its new code on every child', async () => {
  const file = join(folder, 'versioned-plugin.js');
  const version = (tag: string, extra: string) =>
    `import { runInProcess } from 'run-in-process';
     export const answer = runInProcess(async function answer() { return ['${tag}', process.pid]; }, { pool: 'plugins-versioned' });
     ${extra}`;
  type Versioned = {
    answer(): Promise<[string, number]>;
    extra?: () => Promise<string>;
  };
  configure('plugins-versioned', { size: 2 });
  writeFileSync(file, version('v1', ''));
  const v1 = (await import(`${pathToFileURL(file).href}?v=1`)) as Versioned;
  const [firstTag, warmChild] = await v1.answer();
  assert.equal(firstTag, 'v1');
  writeFileSync(
    file,
    version(
      'v2',
      `export const extra = runInProcess(async function extra() { return 'only in v2'; }, { pool: 'plugins-versioned' });`,
    ),
  );
  const v2 = (await import(`${pathToFileURL(file).href}?v=2`)) as Versioned;
  const answers = await Promise.all(Array.from({ length: 8 }, () => v2.answer()));
  assert.deepEqual(new Set(answers.map(([tag]) => tag)), new Set(['v2']), 'every child runs the new code');
  assert.ok(
    answers.some(([, pid]) => pid === warmChild),
    'the warm child that ran v1 ran v2 too',
  );
  assert.equal(await v2.extra?.(), 'only in v2');
  assert.equal((await v1.answer())[0], 'v1', 'the old module instance keeps its own code');
});

test('a CommonJS plugin evaluated again after it is taken out of require.cache (a hot reloader) declares its targets afresh', async () => {
  // Refused before as "wrapped a second time": the library, evaluated once, took it for a function wrapped twice.
  const file = join(folder, 'reloaded-plugin.cjs');
  const version = (added: number) =>
    `const { runInProcess } = require('run-in-process');
     exports.add = runInProcess(async function add(a, b) { return a + b + ${added}; }, { pool: 'plugins-reloaded' });`;
  const require = createRequire(import.meta.url);
  configure('plugins-reloaded', { size: 1 });
  writeFileSync(file, version(0));
  assert.equal(await (require(file) as { add(a: number, b: number): Promise<number> }).add(1, 2), 3);
  delete require.cache[file];
  writeFileSync(file, version(100));
  const reloaded = require(file) as { add(a: number, b: number): Promise<number> };
  // New children import the file as it is now (a warm one keeps what it imported: README).
  configure('plugins-reloaded', { size: 2 });
  assert.equal(await reloaded.add(1, 2), 103);
});

test("stubs of a plugin's function: one per pool, in a module children import too, whichever of the two a child imports first", async () => {
  // The README's stub pattern, in a host module that also declares a target of its own: a child that
  // runs that target imports the host module, and its stubs, before or after the plugin itself.
  writeFileSync(
    join(folder, 'stubbed-plugin.js'),
    `import { runInProcess } from 'run-in-process';
     export const run = runInProcess(async function run(text) { return 'plugin: ' + text; });`,
  );
  writeFileSync(
    join(folder, 'stubbing-host.js'),
    `import { runInProcess } from 'run-in-process';
     const module = new URL('./stubbed-plugin.js', import.meta.url).href;
     const stub = async function run() { throw new Error('a stub never runs'); };
     export const inA = runInProcess(stub, { module, pool: 'stubs-a' });
     export const inB = runInProcess(async function run() { throw new Error('a stub never runs'); }, { module, pool: 'stubs-b' });
     export const hostPid = runInProcess(async function hostPid() { return process.pid; }, { pool: 'stubs-a' });`,
  );
  configure('stubs-a', { size: 1 });
  configure('stubs-b', { size: 1 });
  type Host = Record<'inA' | 'inB', (text: string) => Promise<string>> & { hostPid(): Promise<number> };
  const host = (await import(pathToFileURL(join(folder, 'stubbing-host.js')).href)) as Host;
  // Pool b's child imports the plugin, then the host (stubs of a function it has); pool a's the other way round.
  assert.equal(await host.inB('first'), 'plugin: first');
  const child = await host.hostPid();
  assert.notEqual(child, process.pid);
  assert.equal(await host.inA('second'), 'plugin: second');
  assert.equal(await host.hostPid(), child, 'the same child ran both');
  assert.equal(await host.inB('third'), 'plugin: third');
});

test('a second stub of one function for the same pool is refused: stubs of one function differ in their pool', () => {
  const module = pathToFileURL(join(folder, 'stubbed-plugin.js')).href;
  const stub = async function run() {
    throw new Error('a stub never runs');
  };
  runInProcess(stub, { module, pool: 'stubs-twice' });
  assert.throws(
    () => runInProcess(async function run() {}, { module, pool: 'stubs-twice' }),
    /a stub of "run" in .*stubbed-plugin\.js was declared a second time for the pool "stubs-twice"/,
  );
});

test("a module that wraps functions through two copies of the library runs both, in each copy's pool", () => {
  // A module evaluated again beside a new evaluation of the library file (jest.resetModules()) has
  // its first targets forgotten (registry.ts declaredHere; test/unit/registry.test.ts); another
  // copy's, in a module that uses both, must not be: the child found no first function.
  const copy = join(repoRoot, 'build', 'second-copy');
  rmSync(copy, { recursive: true, force: true });
  cpSync(join(repoRoot, 'dist'), join(copy, 'dist'), { recursive: true });
  cpSync(join(repoRoot, 'package.json'), join(copy, 'package.json'));
  const libraries = [join(repoRoot, 'dist', 'index.js'), join(copy, 'dist', 'index.js')];
  const both = join(folder, 'both-copies.cjs');
  writeFileSync(
    both,
    `const first = require(${JSON.stringify(libraries[0])});
     const second = require(${JSON.stringify(libraries[1])});
     exports.viaFirst = first.runInProcess(function viaFirst(x) { return [x + 1, process.pid]; });
     exports.viaSecond = second.runInProcess(function viaSecond(x) { return [x + 2, process.pid]; });`,
  );
  const run = runScript(
    `import { createRequire } from 'node:module';
     const require = createRequire(import.meta.url);
     const { viaFirst, viaSecond } = require(${JSON.stringify(both)});
     const shown = (call) => call.then(([value, pid]) => value + (pid === process.pid ? ' here' : ' in a child'), (error) => error.message);
     console.log('calls:', await shown(viaFirst(1)) + ', ' + await shown(viaSecond(1)));
     for (const library of ${JSON.stringify(libraries)}) await require(library).shutdown();`,
  );
  assert.equal(run.status, 0, run.report);
  assert.match(run.stdout, /^calls: 2 in a child, 3 in a child$/m, run.report);
});
