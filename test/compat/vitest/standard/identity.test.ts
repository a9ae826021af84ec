import { afterAll, expect, test } from 'vitest';
import { shutdown } from 'run-in-process';
import { decoratorMode, parse, StandardWork, WorkFailed } from './failing-work.js';

afterAll(() => shutdown());

test('standard decorators: a decorated class from a .ts module runs in another process', async () => {
  expect(decoratorMode.seen).toBe('standard');
  expect(await StandardWork.pid()).not.toBe(process.pid);
  // tsx in the child compiles with this folder's tsconfig.json: the same mode.
  expect(await StandardWork.childMode()).toBe('standard');
});

test('standard decorators: an error class exported by the module is rebuilt as that class', async () => {
  const error = await StandardWork.fail('E3').catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(WorkFailed);
  expect(error).toMatchObject({ name: 'WorkFailed', message: 'failed with E3', code: 'E3' });
});

test('standard decorators: a function wrapped under the name of its const, beside them, runs in another process', async () => {
  expect(parse.name).toBe('parse');
  expect(await parse('[1, 2]')).toEqual([1, 2]);
});

test('standard decorators: the declaring module ran once in this process', () => {
  expect((globalThis as { compatLoads?: Record<string, number> }).compatLoads).toEqual({
    'standard/failing-work.ts': 1,
  });
});
