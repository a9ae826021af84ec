import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { internal } from '../helpers/internal.js';

// The registry is process-wide (shared/process-state.ts): every evaluation of the library's code
// registers into the same place. jest's resetModules() evaluates the library's files again, and
// the modules that declare targets with them: here, the registry's own file evaluated again under a
// query stands for that.

type Registry = typeof import('../../build/lib/shared/registry.js');
const first = await internal<Registry>('shared/registry.js');
const again = await internal<Registry>('shared/registry.js?evaluated=again');

/** Two closures of one function: "wrapped a second time" when one evaluation of a module wraps both. */
const wrapped = () => () => 'the same code';
const wrap = (registry: Registry, url: string) => {
  const module = registry.declaredHere(url);
  registry.addFunction({ module, id: 'work', impl: wrapped(), options: {}, streams: false, stub: false });
  return module;
};

test('a module declared again by an evaluation of the same library file (a module reset) is registered afresh', () => {
  const url = 'file:///reset/evaluated-again.js';
  const before = wrap(first, url);
  const after = wrap(again, url);
  assert.notEqual(after, before, 'a new entry');
  assert.equal(first.findModule(url), after);
  assert.equal(after.functions.size, 1);
});

test('one evaluation that wraps the same code twice is still refused', () => {
  const url = 'file:///reset/wrapped-twice.js';
  wrap(first, url);
  assert.throws(() => wrap(first, url), /"work" in file:\/\/\/reset\/wrapped-twice\.js was wrapped a second time/);
});

test("another copy of the library (another file) leaves the first copy's targets of a module in place", async () => {
  const source = fileURLToPath(new URL('../../lib/shared/registry.js', import.meta.url));
  copyFileSync(source, source.replace(/registry\.js$/, 'registry-copy.js'));
  const copy = await internal<Registry>('shared/registry-copy.js');
  const url = 'file:///reset/two-copies.js';
  const module = first.declaredHere(url);
  first.addFunction({ module, id: 'one', impl: () => 1, options: {}, streams: false, stub: false });
  const same = copy.declaredHere(url);
  copy.addFunction({ module: same, id: 'two', impl: () => 2, options: {}, streams: false, stub: false });
  assert.equal(same, module);
  assert.deepEqual([...module.functions.keys()], ['one', 'two']);
});
