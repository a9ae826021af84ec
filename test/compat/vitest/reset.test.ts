import { afterAll, expect, test, vi } from 'vitest';
import { shutdown } from 'run-in-process';

afterAll(() => shutdown());

test('a module imported again after vi.resetModules() runs its calls in a child again', async () => {
  const first = await import('./worker-code.js');
  expect(await first.parse('[1]')).toEqual([1]);
  vi.resetModules();
  const again = await import('./worker-code.js');
  expect(again.parse).not.toBe(first.parse);
  expect(await again.parse('[2]')).toEqual([2]);
  expect(await again.TsWork.pid()).not.toBe(process.pid);
  // The first instance's calls still run, as the module they name is the same file.
  expect(await first.parse('[3]')).toEqual([3]);
});
