import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

const { lossWithAbortedWorker } =
  await internal<typeof import('../../build/lib/pool/local/child-ends.js')>('pool/local/child-ends.js');

// A batch lost with a worker that tinypool ended for an abort (sends and aborts numbered in one sequence).
test('a batch lost with a worker ended for an abort goes again unless it may have run beside the aborted call', () => {
  // Given to tinypool after the abort: it never reached a child.
  assert.equal(lossWithAbortedWorker(5, 4, false, false).kind, 'retired');
  // Before it, with callsPerChild above 1: it may have run beside the aborted call, in its child.
  assert.equal(lossWithAbortedWorker(3, 4, false, false).kind, 'crashed');
  // Before it, with one call at a time per child: the aborted call held that child, and tinypool
  // gave it this batch, queued until then, only once the abort freed its place.
  assert.equal(lossWithAbortedWorker(3, 4, true, false).kind, 'retired');
  // Before it, with callsPerChild above 1, but no child started it (the children ended for aborts
  // told their starts, all read, and none named it): tinypool had queued it, and gave it to the
  // worker it was ending.
  assert.equal(lossWithAbortedWorker(3, 4, false, true).kind, 'retired');
});
