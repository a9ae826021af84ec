import { expect, jest, test } from '@jest/globals';
import { withCallOptions } from '../../../dist/index.js';
import { cube, sleepFor } from './fns.mjs';

// jest's modern fake timers fake its sandbox's process.nextTick too: harmless (Node's own talks with
// the child), and the pool keeps real time.
test('under jest.useFakeTimers() a call runs, and its timeout fires in real time', async () => {
  jest.useFakeTimers();
  try {
    const [value, child] = await cube(4);
    expect(value).toBe(64);
    expect(child).not.toBe(process.pid);
    const error = await withCallOptions({ timeout: 300 }, () => sleepFor(30_000)).catch((thrown) => thrown);
    expect(error.name).toBe('TimeoutError');
  } finally {
    jest.useRealTimers();
  }
});
