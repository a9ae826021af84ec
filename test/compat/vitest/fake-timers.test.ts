import { afterAll, expect, test, vi } from 'vitest';
import { shutdown, TimeoutError, withCallOptions } from 'run-in-process';
import { sleepFor, TsWork } from './worker-code.js';

afterAll(() => shutdown());

// vitest's fake timers are for the test's code: the pool keeps real time. A call's timeout never
// fired under them, and shutdown() never settled.
test('under vi.useFakeTimers() a call runs, and its timeout fires in real time', async () => {
  vi.useFakeTimers();
  try {
    expect(await TsWork.pid()).not.toBe(process.pid);
    const error = await withCallOptions({ timeout: 300 }, () => sleepFor(30_000)).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TimeoutError);
  } finally {
    vi.useRealTimers();
  }
});
