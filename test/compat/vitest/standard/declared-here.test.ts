import { expect, test } from 'vitest';
import { runInProcess } from 'run-in-process';

// As ../declared-here.test.ts, with standard decorators: the plugin compiles them in test files too,
// so the decorator's own refusal is what vitest reports, not a SyntaxError.
class DeclaredInTest {
  @runInProcess
  static async pid(): Promise<number> {
    return process.pid;
  }
}

test('never runs: applying the decorator throws', async () => {
  expect(await DeclaredInTest.pid()).not.toBe(process.pid);
});
