import { afterAll, expect, test } from 'vitest';
import { shutdown } from 'run-in-process';
import { CompiledFailed, FailingCompiled } from './failing-compiled.js';
import { FailingWork, WorkFailed } from './failing-work.js';
import { CompiledReexportFailed, failCompiled } from './reexported-compiled.js';
import { ReexportedWork, ReexportFailed } from './reexported-work.js';

afterAll(() => shutdown());

const loads = () => (globalThis as { compatLoads?: Record<string, number> }).compatLoads ?? {};

test('an error class exported by a compiled .js module is rebuilt as that class', async () => {
  const error = await FailingCompiled.fail('E1').catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(CompiledFailed);
  expect(error).toMatchObject({ name: 'CompiledFailed', message: 'failed with E1', code: 'E1' });
});

test('an error class exported by a .ts module is rebuilt as that class', async () => {
  const error = await FailingWork.fail('E2').catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(WorkFailed);
  expect(error).toMatchObject({ name: 'WorkFailed', message: 'failed with E2', code: 'E2' });
});

test('modules that import the library through a module of the app rebuild their error classes too', async () => {
  const error = await ReexportedWork.fail().catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(ReexportFailed);
  const compiled = await failCompiled().catch((thrown: unknown) => thrown);
  expect(compiled).toBeInstanceOf(CompiledReexportFailed);
});

test('the declaring modules ran once in this process, calls and rebuilt errors included', () => {
  expect(loads()).toEqual({
    'failing-compiled.js': 1,
    'failing-work.ts': 1,
    'reexported-compiled.js': 1,
    'reexported-work.ts': 1,
  });
});
