import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  configure,
  registerError,
  RunInProcessError,
  SerializationError,
  shutdown,
  TimeoutError,
} from 'run-in-process';
import { inspect } from 'node:util';
import { fixture, modes, repoRoot } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { assertSameAsLocal } from '../helpers/same-as-local.js';
import { captureWarnings } from '../helpers/warnings.js';

type ErrorsModule = typeof import('../fixtures/src/errors.js');
type LazyDefaultModule = typeof import('../fixtures/src/lazy-default.js');

after(() => shutdown());
configure('errors-batch', { size: 1 });

/** What Thrower.throwKind(kind) rejects with. */
async function thrownBy(module: ErrorsModule, kind: string): Promise<unknown> {
  return await rejectionOf(module.Thrower.throwKind(kind));
}

/** What a batch of calls gives on a pool of one child: the first goes alone, the others together. */
async function batchAfter(module: ErrorsModule, what: 'throw' | 'return', kind: string) {
  const [, failed, ...others] = await Promise.allSettled([
    module.inBatch('value', 'first'),
    module.inBatch(what, kind),
    module.inBatch('value', 'second'),
    module.inBatch('value', 'third'),
  ]);
  return { failed, others };
}

test("the library's own error from a second copy of the library in the child comes back as the library's class", async () => {
  // A plugin with a copy of its own, or one copy loaded twice (Node 20 loads a package reached by a
  // symlink by the link's path after a synchronous stat of a pipe or a socket): its classes are not
  // this copy's, and are known by their brand. The copy sits under the checkout, so that its own
  // imports (tinypool, msgpackr…) resolve from the checkout's node_modules.
  mkdirSync(join(repoRoot, '.tmp'), { recursive: true });
  const dir = mkdtempSync(join(repoRoot, '.tmp', 'second-copy-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(repoRoot, 'dist'), join(dir, 'dist'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const plugin = join(dir, 'plugin.mjs');
  writeFileSync(
    plugin,
    `import { runInProcess } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'dist', 'index.js')).href)};
     export const fromSecondCopy = runInProcess(async function fromSecondCopy() {
       const copy = await import(${JSON.stringify(pathToFileURL(join(dir, 'dist', 'index.js')).href)});
       throw new copy.TimeoutError('a nested call of the copy timed out', 75, 'nested');
     });`,
  );
  const { fromSecondCopy } = (await import(pathToFileURL(plugin).href)) as { fromSecondCopy: () => Promise<never> };
  const error = await rejectionOf(fromSecondCopy(), TimeoutError);
  assert.equal(error.message, 'a nested call of the copy timed out');
  assert.equal(error.timeout, 75);
  assert.equal(error.code, 'ERR_CALL_TIMEOUT');
});

test('a class named like a built-in error cannot be registered: it would stand for every built-in of that name', () => {
  // Errors are matched by name: registered, it would make a plain `null.x` in a child come back as it.
  class NamedLikeBuiltIn extends TypeError {}
  Object.defineProperty(NamedLikeBuiltIn, 'name', { value: 'TypeError' });
  assert.throws(
    () => registerError(NamedLikeBuiltIn),
    (error: unknown) =>
      error instanceof TypeError &&
      (error as TypeError & { code?: string }).code === 'ERR_INVALID_USAGE' &&
      /named like the built-in TypeError.*Give the class a name of its own/s.test(error.message),
  );
});

test('a class without a name cannot be registered: errors are matched by name', () => {
  const anonymous = [class extends Error {}][0]!;
  assert.equal(anonymous.name, '');
  assert.throws(
    () => registerError(anonymous),
    (error: unknown) =>
      error instanceof TypeError &&
      (error as TypeError & { code?: string }).code === 'ERR_INVALID_USAGE' &&
      /the class has no name.*Declare it with one/s.test(error.message),
  );
});

for (const mode of modes) {
  describe(`errors are rebuilt, not flattened (${mode})`, () => {
    test('built-in classes come back as the same class', async () => {
      const module = await fixture<ErrorsModule>(mode, 'errors');
      const type = await thrownBy(module, 'type');
      assert.ok(type instanceof TypeError);
      assert.equal(type.message, 'bad type');
      assert.ok((await thrownBy(module, 'range')) instanceof RangeError);
      const aggregate = await thrownBy(module, 'aggregate');
      assert.ok(aggregate instanceof AggregateError);
      assert.equal(aggregate.errors.length, 2);
      assert.ok(aggregate.errors[0] instanceof TypeError);
      assert.ok(aggregate.errors[1] instanceof module.QuotaError, 'an exported class inside errors[]');
    });

    test('an exported custom class comes back as itself, fields kept, constructor not re-run', async () => {
      const module = await fixture<ErrorsModule>(mode, 'errors');
      const constructedBefore = module.QuotaError.constructed;
      const quota = await thrownBy(module, 'quota');
      assert.ok(quota instanceof module.QuotaError);
      assert.equal(quota.name, 'QuotaError');
      assert.equal(quota.message, 'over the quota of 5');
      assert.equal(quota.limit, 5);
      assert.deepEqual(quota.when, new Date(86_400_000), 'a Date field stays a Date');
      assert.equal(quota.big, 12n, 'a BigInt field stays a BigInt');
      assert.equal(quota.describe(), 'QuotaError(5)', 'prototype methods work');
      assert.equal(module.QuotaError.constructed, constructedBefore, 'the constructor did not run in the parent');
    });

    test('a registered class comes back as itself; an unknown one keeps its name and fields', async () => {
      const module = await fixture<ErrorsModule>(mode, 'errors');
      const registered = await thrownBy(module, 'registered');
      assert.ok(module.isRegisteredError(registered));
      assert.equal((registered as { extra?: string }).extra, 'kept');
      const { result, warnings } = await captureWarnings(() => thrownBy(module, 'private'));
      const unknown = result as Error & { detail?: string };
      // Said once: a catch branch on the class would fail silently otherwise.
      const said = warnings.filter((warning) => warning.code === 'RUN_IN_PROCESS_UNKNOWN_ERROR_CLASS');
      assert.equal(said.length, 1, JSON.stringify(warnings));
      assert.match(
        said[0]!.message,
        /An error of class PrivateError thrown in a child came back as the nearest built-in class/,
      );
      assert.match(said[0]!.message, /export it from that module .* or call registerError\(PrivateError\)/s);
      assert.ok(unknown instanceof Error);
      assert.equal(unknown.name, 'PrivateError');
      assert.equal(unknown.message, 'not exported, not registered');
      assert.equal(unknown.detail, 'still here');
    });

    test('the cause chain, code, errno and other own properties are preserved', async () => {
      const module = await fixture<ErrorsModule>(mode, 'errors');
      const outer = (await thrownBy(module, 'cause')) as Error;
      assert.equal(outer.message, 'outer');
      const middle = outer.cause as Error;
      assert.ok(middle instanceof RangeError);
      assert.equal(middle.message, 'middle');
      assert.ok(middle.cause instanceof module.QuotaError);
      assert.equal(middle.cause.limit, 1);
      const coded = (await thrownBy(module, 'code')) as NodeJS.ErrnoException;
      assert.equal(coded.code, 'ENOENT');
      assert.equal(coded.errno, -2);
      assert.equal(coded.syscall, 'open');
      assert.equal(coded.path, '/nope');
    });

    test('a thrown non-error keeps its value', async () => {
      const module = await fixture<ErrorsModule>(mode, 'errors');
      assert.equal(await thrownBy(module, 'number'), 42);
      assert.equal(await thrownBy(module, 'string'), 'just a string');
      assert.equal(await thrownBy(module, 'undefined'), undefined);
      assert.deepEqual(await thrownBy(module, 'object'), { reason: 'plain object', at: new Date(5) });
    });

    test("the stack shows the child's frames, then the caller's frames in the parent", async () => {
      const module = await fixture<ErrorsModule>(mode, 'errors');
      const error = (await thrownBy(module, 'type')) as Error;
      const stack = error.stack ?? '';
      const boundary = stack.indexOf('the child process above');
      assert.ok(boundary > 0, stack);
      const childPart = stack.slice(0, boundary);
      const parentPart = stack.slice(boundary);
      assert.match(childPart, /^TypeError: bad type/);
      assert.match(childPart, /at failure \(.*fixtures\/\S+\/errors\.js:\d+:\d+\)/, 'child frame: function and file');
      assert.match(
        parentPart,
        /at (async )?thrownBy \(.*build\/test\/integration\/errors\.test\.js:\d+:\d+\)/,
        'parent frame: the caller',
      );
      assert.doesNotMatch(stack, /tinypool\/dist/);
    });

    test('what comes back is what a local call throws: class, own properties (enumerable or not), cause chain, fields', async () => {
      const module = await fixture<ErrorsModule>(mode, 'errors');
      for (const kind of module.sameAsLocalKinds) {
        assertSameAsLocal(await thrownBy(module, kind), module.failure(kind), undefined, kind);
      }
      // Node's AssertionError, which is no global: not in sameAsLocalKinds, whose errors a worker on
      // another Node line must rebuild the same (Node 22 and later give it a `diff` field).
      assertSameAsLocal(await thrownBy(module, 'assertion'), module.failure('assertion'), undefined, 'assertion');
      // Classes the parent cannot find come back as the nearest class it has, with their name and layout.
      assertSameAsLocal(await thrownBy(module, 'private'), module.failure('private'), Error, 'private');
      assertSameAsLocal(
        await thrownBy(module, 'private-type'),
        module.failure('private-type'),
        TypeError,
        'private-type',
      );
      assertSameAsLocal(
        await thrownBy(module, 'app-serialization'),
        module.failure('app-serialization'),
        Error,
        'app-serialization',
      );
    });

    test("an app's own TimeoutError, AbortError or SerializationError is not the library's; the library's still is", async () => {
      const module = await fixture<ErrorsModule>(mode, 'errors');
      const appTimeout = await thrownBy(module, 'app-timeout');
      assert.ok(appTimeout instanceof module.TimeoutError, 'the exported app class');
      assert.ok(!(appTimeout instanceof TimeoutError));
      assert.ok(module.isAppAbortError(await thrownBy(module, 'app-abort')), 'the registered app class');
      const appSerialization = await thrownBy(module, 'app-serialization');
      assert.ok(!(appSerialization instanceof SerializationError), inspect(appSerialization));
      assert.equal((appSerialization as Error).name, 'SerializationError');
      const library = await thrownBy(module, 'library-timeout');
      assert.ok(library instanceof TimeoutError, 'the library raised it: the library class');
      assert.equal(library.timeout, 50);
      assert.equal(library.code, 'ERR_CALL_TIMEOUT');
      const unsendable = await rejectionOf(module.Thrower.returnKind('function'), SerializationError);
      assert.equal(unsendable.path, 'result.handler', 'the child could not send its result: the library class');
    });

    test('a DOMException comes back as a DOMException', async () => {
      const module = await fixture<ErrorsModule>(mode, 'errors');
      const aborted = await thrownBy(module, 'dom-exception');
      assert.ok(aborted instanceof DOMException, inspect(aborted));
      assert.equal(aborted.name, 'AbortError');
      assert.equal(aborted.code, DOMException.ABORT_ERR);
      assert.match(aborted.stack ?? '', /the child process above/);
    });

    test('an error that cannot be read in full comes back with what can be read', async () => {
      const module = await fixture<ErrorsModule>(mode, 'errors');
      const getter = await thrownBy(module, 'getter-throws');
      assert.ok(getter instanceof RangeError, inspect(getter));
      assert.equal(getter.message, 'has a broken getter');
      assert.equal((getter as { code?: string }).code, 'E_GETTER');
      assert.ok(!('broken' in getter), 'the field whose getter throws is left out');
      const toJSON = await thrownBy(module, 'tojson-throws');
      assert.ok(toJSON instanceof TypeError, inspect(toJSON));
      assert.equal((toJSON as { detail?: string }).detail, 'kept');
      const message = (await thrownBy(module, 'message-getter-throws')) as Error & { code?: string; detail?: string };
      assert.ok(message instanceof Error, inspect(message));
      assert.deepEqual(
        [message.code, message.detail],
        ['E_MESSAGE', 'kept'],
        'a throwing message getter loses nothing else',
      );
      const name = (await thrownBy(module, 'name-getter-throws')) as Error & { code?: string };
      assert.deepEqual(
        [name.message, name.code],
        ['name throws', 'E_NAME'],
        'a throwing name getter loses nothing else',
      );
      const fn = (await thrownBy(module, 'function-field')) as Error & { kept?: string };
      assert.equal(fn.kept, 'yes');
      assert.ok(!('callback' in fn), 'a function field is left out');
      const deep = (await thrownBy(module, 'deep-cause')) as Error;
      let depth = 1;
      let last = deep;
      while (last.cause instanceof Error) {
        last = last.cause;
        depth++;
      }
      assert.equal(deep.message, 'cause 9999');
      assert.equal(depth, 10_000, 'the whole 10,000-deep cause chain');
      assert.equal(last.message, 'cause 0');
    });

    test('a thrown value that cannot be sent is a SerializationError that says so', async () => {
      const module = await fixture<ErrorsModule>(mode, 'errors');
      const error = (await thrownBy(module, 'thrown-function')) as SerializationError;
      assert.ok(error instanceof SerializationError, inspect(error));
      assert.equal(error.path, 'thrown');
      assert.match(error.message, /threw a function .* could not be sent to the parent process/);
      assert.deepEqual(
        await thrownBy(module, 'object-with-function'),
        { reason: 'plain' },
        'sent without the function',
      );
    });

    test('an error that cannot be encoded fails its own call only, not the next calls of its batch', async () => {
      const module = await fixture<ErrorsModule>(mode, 'errors');
      for (const kind of ['tojson-throws', 'getter-throws', 'deep-cause']) {
        const { failed, others } = await batchAfter(module, 'throw', kind);
        assert.deepEqual(
          others.map((other) => (other.status === 'fulfilled' ? other.value : inspect(other.reason, { depth: 1 }))),
          ['second', 'third'],
          `${kind}: the calls after it`,
        );
        assert.equal(failed?.status, 'rejected');
        const reason = failed.status === 'rejected' ? failed.reason : undefined;
        assert.ok(!(reason instanceof RunInProcessError), `${kind}: ${inspect(reason, { depth: 1 })}`);
      }
      const { failed, others } = await batchAfter(module, 'return', 'getter-throws');
      assert.ok(failed?.status === 'rejected' && failed.reason instanceof SerializationError);
      assert.deepEqual(
        others.map((other) => other.status),
        ['fulfilled', 'fulfilled'],
      );
    });
  });
}

test('an exported error class comes back as itself beside a default export whose getter throws: the child reads no getter', async () => {
  const { charge, QuotaError } = await fixture<LazyDefaultModule>('standard', 'lazy-default');
  const { result, warnings } = await captureWarnings(() => rejectionOf(charge(), QuotaError));
  assert.equal(result.message, 'over quota');
  assert.deepEqual(
    warnings.filter((warning) => warning.code === 'RUN_IN_PROCESS_UNKNOWN_ERROR_CLASS'),
    [],
    'no warning that the module does not export QuotaError',
  );
});
