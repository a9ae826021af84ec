import { expect, test } from 'vitest';
import { runInProcess } from 'run-in-process';

// The child would import this test file itself: the decorator refuses, and vitest reports its error.
class DeclaredInTest {
  @runInProcess
  static async pid(): Promise<number> {
    return process.pid;
  }
}

test('never runs: applying the decorator throws', async () => {
  expect(await DeclaredInTest.pid()).not.toBe(process.pid);
});
