import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { configure, shutdown } from 'run-in-process';
import { fixtureUrl, repoRoot } from '../helpers/fixtures.js';

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
