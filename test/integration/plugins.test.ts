import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { shutdown } from 'run-in-process';
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
