import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// A child writes each notice with writevSync (child/notice-pipe.ts), a limited number of bytes per call (Node 20 fails a
// write of 2 GiB or more with a made-up error code): the pieces it asks for, in order, are the
// notice's bytes, whatever the limit falls on.
const { atMost } = await internal<typeof import('../../build/lib/shared/frames.js')>('shared/frames.js');

const bytes = (buffers: Buffer[]) => Buffer.concat(buffers).toString();

test('a write asks for at most the limit: whole buffers, then the start of the one the limit falls in', () => {
  const buffers = [Buffer.from('abc'), Buffer.from('defg'), Buffer.from('hi')];
  assert.equal(atMost(buffers, 100), buffers, 'under the limit: all of them, as they are');
  assert.equal(bytes(atMost(buffers, 9)), 'abcdefghi');
  assert.equal(bytes(atMost(buffers, 7)), 'abcdefg', 'a limit at a boundary');
  assert.equal(bytes(atMost(buffers, 5)), 'abcde', 'a limit inside a buffer');
  assert.equal(bytes(atMost(buffers, 2)), 'ab', 'a limit inside the first buffer');
  assert.deepEqual(
    atMost(buffers, 5).map((buffer) => buffer.byteLength),
    [3, 2],
  );
});
