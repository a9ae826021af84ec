import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { shutdown } from 'run-in-process';
import { fixture, modes } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';

type ErrorsModule = typeof import('../fixtures/src/errors.js');

after(() => shutdown());

/** What Thrower.throwKind(kind) rejects with. */
async function thrownBy(module: ErrorsModule, kind: string): Promise<unknown> {
  return await rejectionOf(module.Thrower.throwKind(kind));
}

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
      const unknown = (await thrownBy(module, 'private')) as Error & { detail?: string };
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
  });
}
