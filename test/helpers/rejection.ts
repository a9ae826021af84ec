import assert from 'node:assert/strict';
import { inspect } from 'node:util';

/**
 * What `promise` rejects with; fails the test if it resolves. With `expected`, also checks that
 * the reason is an instance of that class, and returns it typed as one.
 */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown>;
export async function rejectionOf<E>(
  promise: Promise<unknown>,
  expected: abstract new (...args: never[]) => E,
): Promise<E>;
export async function rejectionOf(
  promise: Promise<unknown>,
  expected?: abstract new (...args: never[]) => unknown,
): Promise<unknown> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    if (expected) assert.ok(error instanceof expected, `expected a ${expected.name}, got ${inspect(error)}`);
    return error;
  }
  assert.fail(`expected a rejection, but the promise resolved with ${inspect(value)}`);
}
