import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

const { IdleEnds } =
  await internal<typeof import('../../build/lib/pool/local/idle-ends.js')>('pool/local/idle-ends.js');

test('the third idle end within 10 s pauses the minimum 1 s, doubling up to 30 s; a quiet minute starts over', () => {
  const ends = new IdleEnds();
  const at = (times: number[], canPause = true) => times.map((time) => ends.ended(canPause, time));
  assert.deepEqual(at([0, 100, 200]), [undefined, undefined, 1_000]);
  // Ends while a pause is under way count, and lengthen nothing.
  assert.deepEqual(at([500], false), [undefined]);
  assert.deepEqual(at([1_300]), [2_000]);
  // Fewer than three within 10 s: no pause.
  assert.deepEqual(at([20_000, 20_050, 20_100]), [undefined, undefined, 4_000]);
  assert.deepEqual(at([30_000, 30_050, 30_060, 30_070]), [8_000, 16_000, 30_000, 30_000]);
  assert.equal(ends.recent, 5, 'those of the last 10 s');
  // A minute without an idle end: the next pause is 1 s again.
  assert.deepEqual(at([100_000, 100_100, 100_200]), [undefined, undefined, 1_000]);
});
