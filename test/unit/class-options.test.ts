import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// A class's defaults are read along its class chain (src/shared/class-options.ts), which ES5-style
// code can make go round through its prototypes' `constructor` fields.
const { classDefaults, setClassDefaults } =
  await internal<typeof import('../../build/lib/shared/class-options.js')>('shared/class-options.js');

test("a class chain that goes round (A's prototype leads to B, B's to A) is read once, not for ever", () => {
  function A() {}
  function B() {}
  Object.setPrototypeOf(A.prototype, { constructor: B });
  Object.setPrototypeOf(B.prototype, { constructor: A });
  setClassDefaults(B, { timeout: 5 });
  setClassDefaults(A, { priority: 1 });
  assert.deepEqual({ ...classDefaults(A) }, { timeout: 5, priority: 1 });
});
