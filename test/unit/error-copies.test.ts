import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

type Errors = typeof import('../../build/lib/errors.js');

// Two copies of the error classes in one process, as tsx gives a CommonJS app (its compiled copy,
// and Node's, which the pool's import() loads): the same file under another URL is another module.
const ours = await internal<Errors>('errors.js');
const theirs = await internal<Errors>('errors.js?another-copy');

test('another copy is really another: its classes are not these', () => {
  assert.notEqual(theirs.TimeoutError, ours.TimeoutError);
});

test("an error of another copy's class is instanceof this copy's class of the same name, and of its bases", () => {
  const timeout = new theirs.TimeoutError('late', 100, 'Work.run');
  assert.ok(timeout instanceof ours.TimeoutError);
  assert.ok(timeout instanceof ours.RunInProcessError);
  assert.ok(!(timeout instanceof ours.AbortError));
  assert.ok(!(timeout instanceof ours.ProcessCrashedError));
  const lost = new theirs.WorkerLostError('gone', 'Work.run', '1', 'host:1');
  assert.ok(lost instanceof ours.ProcessCrashedError, 'a subclass of a subclass');
  assert.ok(lost instanceof ours.WorkerLostError);
  // And the other way round.
  assert.ok(new ours.AbortError('stop') instanceof theirs.AbortError);
});

test("a user's subclass of a library class is matched only as instanceof always matches it", () => {
  class RenderTimeout extends ours.TimeoutError {}
  assert.ok(new RenderTimeout('late', 100, 'Work.run') instanceof RenderTimeout);
  assert.ok(new RenderTimeout('late', 100, 'Work.run') instanceof theirs.TimeoutError);
  assert.ok(!(new theirs.TimeoutError('late', 100, 'Work.run') instanceof RenderTimeout));
  assert.ok(!(new Error('plain') instanceof ours.RunInProcessError));
  assert.ok(!((null as unknown as object) instanceof ours.RunInProcessError));
  assert.ok(!(('TimeoutError' as unknown as object) instanceof ours.TimeoutError));
});

test('a value whose prototype cannot be read throws as instanceof does for any class', () => {
  const throwing = new Proxy(
    {},
    {
      getPrototypeOf() {
        throw new Error('trap');
      },
    },
  );
  assert.throws(() => throwing instanceof ours.TimeoutError, /trap/);
});
