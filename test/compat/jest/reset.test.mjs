import { expect, jest, test } from '@jest/globals';

// jest.resetModules() evaluates every module again, the library among them: each wrapped function,
// and the library's own warm-up ping, was refused as "wrapped a second time".
test('a module evaluated again after jest.resetModules() runs its calls in a child again', async () => {
  const first = await import('./fns.mjs');
  const [eight, firstChild] = await first.cube(2);
  expect(eight).toBe(8);
  expect(firstChild).not.toBe(process.pid);
  jest.resetModules();
  const second = await import('./fns.mjs');
  const [twentySeven, secondChild] = await second.cube(3);
  expect(twentySeven).toBe(27);
  expect(secondChild).not.toBe(process.pid);
});
