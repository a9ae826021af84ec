import assert from 'node:assert/strict';
import { inspect } from 'node:util';

/**
 * Asserts that an error from the child is what the local call threw: the same class (or `as`, for
 * a class the parent cannot find), the same own properties, enumerable or not, with the same
 * values, errors among them compared alike, cycles kept. Stacks differ: they are checked apart.
 */
export function assertSameAsLocal(
  actual: unknown,
  expected: unknown,
  as?: Function,
  path = 'error',
  pairs = new Map(),
): void {
  if (typeof expected !== 'object' || expected === null) {
    assert.deepEqual(actual, expected, path);
    return;
  }
  assert.ok(typeof actual === 'object' && actual !== null, `${path}: ${inspect(actual)} is not an object`);
  if (pairs.has(expected)) {
    assert.equal(actual, pairs.get(expected), `${path}: the same object as where it first appeared`);
    return;
  }
  pairs.set(expected, actual);
  const isError = expected instanceof Error;
  const isPlain = Array.isArray(expected) || Object.getPrototypeOf(expected) === Object.prototype;
  if (!isError && !isPlain) {
    assert.deepEqual(actual, expected, path);
    return;
  }
  const expectedPrototype = as && isError ? as.prototype : Object.getPrototypeOf(expected);
  assert.equal(Object.getPrototypeOf(actual), expectedPrototype, `${path}: its class (${inspect(actual)})`);
  const layout = (value: object) =>
    Object.getOwnPropertyNames(value)
      .map((key) => `${key}${Object.getOwnPropertyDescriptor(value, key)?.enumerable ? '' : ' (not enumerable)'}`)
      .sort();
  assert.deepEqual(layout(actual), layout(expected), `${path}: its own properties`);
  if (isError) {
    assert.equal((actual as Error).name, expected.name, `${path}.name`);
    assert.equal((actual as Error).message, expected.message, `${path}.message`);
  }
  for (const key of Object.getOwnPropertyNames(expected)) {
    if (key === 'stack') continue;
    const value = (expected as Record<string, unknown>)[key];
    assertSameAsLocal((actual as Record<string, unknown>)[key], value, undefined, `${path}.${key}`, pairs);
  }
}
