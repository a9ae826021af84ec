import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { scratchFile } from '../helpers/fixtures.js';
import { internal } from '../helpers/internal.js';

// The advice given with a read that a sandboxed child was denied (src/shared/sandbox-hint.ts).
const { fsReadHint } =
  await internal<typeof import('../../build/lib/shared/sandbox-hint.js')>('shared/sandbox-hint.js');

const denied = (resource: string) => ({ code: 'ERR_ACCESS_DENIED', permission: 'FileSystemRead', resource });

test('a denied file is granted through its folder; a denied folder as itself, never through its parent', () => {
  const app = scratchFile('hint-app');
  mkdirSync(join(app, 'plugins'), { recursive: true });
  writeFileSync(join(app, 'plugins', 'a.js'), '');
  assert.match(fsReadHint(denied(join(app, 'plugins', 'a.js'))), new RegExp(`Add '${join(app, 'plugins')}' to`));
  const folder = fsReadHint(denied(app));
  assert.match(folder, new RegExp(`Add '${app}' to`));
  assert.doesNotMatch(folder, /folder above/);
});

test('a denied path that does not exist is said to be a probe, with no path to grant', () => {
  const hint = fsReadHint(denied('/TMP/NOWHERE-RUN-IN-PROCESS'));
  assert.match(hint, /which does not exist here: code in it probed the file system/);
  assert.match(hint, /tsx/);
  assert.doesNotMatch(hint, /Add '/);
});

test("a path that would grant the app's own folder is not advised: the path is the child's word", () => {
  // A hostile plugin threw such an error naming '/', and the hint said to add '/' to fsRead.
  const root = fsReadHint(denied('/'));
  assert.doesNotMatch(root, /Add '/);
  assert.match(
    root,
    /a child says it was denied reading \/\. Granting '\/' would let the pool read far more than its modules/,
  );
  const beside = fsReadHint(denied(join(process.cwd(), 'package.json')));
  assert.doesNotMatch(beside, /Add '/);
  assert.match(beside, /grant in permissions\.fsRead only the folders the pool's modules are in/);
  // Nor a system folder, nor the user's home.
  for (const path of ['/etc/hostname', join(homedir(), '.bashrc')]) {
    assert.doesNotMatch(fsReadHint(denied(path)), /Add '/, path);
  }
  // Nor a link to the app's folder.
  const link = join(scratchFile('hint-link'));
  mkdirSync(link);
  symlinkSync(process.cwd(), join(link, 'app'));
  assert.doesNotMatch(fsReadHint(denied(join(link, 'app', 'package.json'))), /Add '/);
});

test('any other error gets no hint', () => {
  assert.equal(fsReadHint(new Error('no')), '');
  assert.equal(fsReadHint({ ...denied('/x'), permission: 'ChildProcess' }), '');
});
