import { afterAll, expect, test } from 'vitest';
import { configure, ModuleLoadError, shutdown } from 'run-in-process';
import { CompiledWork } from './compiled-work.js';
import { NamedModuleWork } from './named-module.js';
import { parse, TsWork } from './worker-code.js';

afterAll(() => shutdown());

test('a compiled .js module runs in another process', async () => {
  expect(await CompiledWork.pid()).not.toBe(process.pid);
});

test('a .ts module runs in another process', async () => {
  expect(await TsWork.pid()).not.toBe(process.pid);
});

test('a function wrapped under the name of its const, beside a decorated class, runs in another process', async () => {
  expect(parse.name).toBe('parse');
  expect(await parse('[1, 2]')).toEqual([1, 2]);
});

test('a .ts module named with { module: import.meta.url } runs in another process', async () => {
  expect(await NamedModuleWork.pid()).not.toBe(process.pid);
});

test('without the loader that setup.ts adds, a .ts module is a ModuleLoadError', async () => {
  configure({ execArgv: process.execArgv });
  try {
    const error = await NamedModuleWork.pid().catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ModuleLoadError);
    // Node 20 refuses the extension; Node ≥ 22.18 strips types but cannot run the decorators.
    const cause = (error as ModuleLoadError).cause as { code?: string; name?: string };
    expect(cause.code === 'ERR_UNKNOWN_FILE_EXTENSION' || cause.name === 'SyntaxError').toBe(true);
    expect((error as ModuleLoadError).message).toContain("'--import', 'tsx'");
  } finally {
    configure({ execArgv: [...process.execArgv, '--import', 'tsx'] });
  }
});
