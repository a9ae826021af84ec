import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, test } from 'node:test';
import { build } from 'esbuild';
import { repoRoot as root } from '../helpers/fixtures.js';
import { runScript, type ScriptOptions } from '../helpers/scripts.js';

/**
 * Real toolchains, end to end: each check runs a small app under test/compat/ in its own node
 * process, and the app's children must load the declaring module the way its parent did.
 */

const compat = join(root, 'test/compat');
const bin = (name: string) => join(root, 'node_modules/.bin', name);

/** Runs a node script (a file) in `cwd`, which must exit with 0. */
function run(file: string, cwd: string, options: ScriptOptions = {}): { stdout: string; stderr: string } {
  const result = runScript(pathToFileURL(file), { ...options, cwd });
  assert.equal(result.status, 0, `${file} in ${cwd}: ${result.report}`);
  return { stdout: result.stdout, stderr: result.stderr };
}

function line(stdout: string, pattern: RegExp): string[] {
  const match = pattern.exec(stdout);
  assert.ok(match, `no line matching ${pattern} in:\n${stdout}`);
  return match.slice(1);
}

/**
 * What the tsx apps print. Both run ../work.ts: tsx compiles with the tsconfig.json of the working
 * directory, which the children inherit, so one source serves both decorator modes.
 */
function assertTsxApp(stdout: string, decorators: 'standard' | 'legacy'): void {
  const [parent, child] = line(stdout, /^parent (\d+) child (\d+)$/m);
  assert.notEqual(child, parent);
  assert.deepEqual(line(stdout, /^scaled (.*)$/m), ['3,6,9']);
  assert.deepEqual(
    line(stdout, /^decorators (\w+)$/m),
    [decorators],
    'the child compiled work.ts in the same decorator mode',
  );
}

test('node --import tsx: a .ts module with standard decorators', () => {
  const dir = join(compat, 'tsx', 'standard');
  const { stdout } = run(join(dir, 'app.ts'), dir, { nodeArgs: ['--import', 'tsx'] });
  assertTsxApp(stdout, 'standard');
});

test('the tsx CLI: a .ts module with legacy decorators', () => {
  const { stdout } = run(bin('tsx'), join(compat, 'tsx', 'legacy'), { args: ['app.ts'] });
  assertTsxApp(stdout, 'legacy');
  // esbuild, inside tsx, ignores emitDecoratorMetadata: the check that a legacy method returns a Promise cannot run.
  assert.deepEqual(line(stdout, /^design:returntype (\w+)$/m), ['absent']);
});

/**
 * A CommonJS app whose TypeScript a require hook compiles (`node --require tsx/cjs`, as with
 * @swc-node/register or ts-node): import() does not go through the hook, so the children need an
 * import loader, and this process finds an exported error class in require()'s cache, not by import().
 */
const requireHookApp = join(compat, 'tsx', 'require-hook');

test('a require hook (node --require tsx/cjs): without an import loader, the ModuleLoadError names the hook and its import form', () => {
  const { stdout } = run(join(requireHookApp, 'app.cjs'), requireHookApp, { nodeArgs: ['--require', 'tsx/cjs'] });
  assert.match(
    stdout,
    /^caught ModuleLoadError instanceof Refused false: The child process could not load Gate\.open/m,
  );
  assert.match(stdout, /through a require hook \(--require tsx\/cjs\).*'--import', 'tsx'/);
});

test('a require hook with an import loader for the children: an error class the module exports comes back as itself', {
  skip:
    Number(process.versions.node.split('.')[0]) < 22 &&
    "on Node 20, tsx's require hook rewrites the library for require(), and the children's import() of it then fails (README)",
}, () => {
  const { stdout, stderr } = run(join(requireHookApp, 'app.cjs'), requireHookApp, {
    nodeArgs: ['--require', 'tsx/cjs'],
    args: ['--with-import-loader'],
  });
  const [parent, child] = line(stdout, /^parent (\d+) child (\d+)$/m);
  assert.notEqual(child, parent);
  // This process could not import() gate.cts (Node strips types as for ESM, and stops at the decorators).
  assert.match(stdout, /^caught Refused instanceof Refused true: refused -7$/m, stderr);
  assert.doesNotMatch(stderr, /RUN_IN_PROCESS_UNKNOWN_ERROR_CLASS/);
});

interface VitestFileResult {
  name: string;
  status: string;
  message: string;
  assertionResults: { title: string; status: string; failureMessages: string[] }[];
}

interface VitestRun {
  command: string;
  args: (app: VitestApp) => string[];
}

type VitestApp = 'legacy' | 'standard';

/**
 * The apps under test/compat/vitest, run by a given vitest with the run-in-process/vitest plugin:
 * the folder itself (legacy decorators, its tsconfig.json) and standard/ (standard decorators). The
 * library is external there, as it is when installed under node_modules. vitest 5 needs
 * Node >= 22.12, so it runs on the Node 22 and 24 passes of scripts/test-node-lines.sh, which
 * install test/compat/vitest5.
 */
function vitestSuite(name: string, title: string, run: VitestRun | string): void {
  describe(title, { skip: typeof run === 'string' ? run : false }, () => {
    const files: Record<VitestApp, VitestFileResult[]> = { legacy: [], standard: [] };

    before(() => {
      if (typeof run === 'string') return;
      for (const app of ['legacy', 'standard'] as const) {
        const report = join(root, `build/compat/${name}-${app}-report.json`);
        rmSync(report, { force: true });
        // The working directory picks the tsconfig.json that tsx uses in the children, as Vite does per file.
        const cwd = app === 'legacy' ? join(compat, 'vitest') : join(compat, 'vitest/standard');
        const result = spawnSync(run.command, [...run.args(app), '--reporter=json', `--outputFile=${report}`], {
          cwd,
          timeout: 45_000,
          encoding: 'utf8',
        });
        assert.ok(existsSync(report), `vitest wrote no report for the ${app} app:\n${result.stdout}\n${result.stderr}`);
        files[app] = (JSON.parse(readFileSync(report, 'utf8')) as { testResults: VitestFileResult[] }).testResults;
      }
    });

    function assertPassed(app: VitestApp, title: string): void {
      const result = files[app].flatMap((file) => file.assertionResults).find((candidate) => candidate.title === title);
      assert.ok(result, `vitest did not run "${title}"`);
      assert.equal(result.status, 'passed', result.failureMessages.join('\n'));
    }

    function assertRefusedInTestFile(app: VitestApp): void {
      const file = files[app].find((candidate) => candidate.name.endsWith('declared-here.test.ts'));
      assert.ok(file, 'vitest did not run declared-here.test.ts');
      const calls = file.assertionResults.map((result) => `${result.title}: ${result.failureMessages.join('\n')}`);
      assert.deepEqual(calls, [], 'the file should fail while importing, before any test runs');
      assert.equal(file.status, 'failed');
      assert.match(file.message, /move/i);
      assert.match(file.message, /module/i);
    }

    test('a decorated class from a compiled .js module runs in a child, with no loader', () => {
      assertPassed('legacy', 'a compiled .js module runs in another process');
    });

    test('a decorated class from a .ts module runs in a child that imports tsx (setup.ts)', () => {
      assertPassed('legacy', 'a .ts module runs in another process');
    });

    test('under vi.useFakeTimers() a call runs, and its timeout fires in real time', () => {
      assertPassed('legacy', 'under vi.useFakeTimers() a call runs, and its timeout fires in real time');
    });

    test('a module imported again after vi.resetModules() registers its targets again', () => {
      assertPassed('legacy', 'a module imported again after vi.resetModules() runs its calls in a child again');
    });

    test('a function wrapped beside a decorated class keeps its name', () => {
      assertPassed(
        'legacy',
        'a function wrapped under the name of its const, beside a decorated class, runs in another process',
      );
    });

    test('the same, with the module named by { module: import.meta.url }', () => {
      assertPassed('legacy', 'a .ts module named with { module: import.meta.url } runs in another process');
    });

    test('without tsx in the child, a .ts module is a ModuleLoadError', () => {
      assertPassed('legacy', 'without the loader that setup.ts adds, a .ts module is a ModuleLoadError');
    });

    test('a decorated class declared in the test file fails at decoration time, saying to move it into a module', () => {
      assertRefusedInTestFile('legacy');
    });

    test('legacy decorators: an error class exported by the declaring module passes toBeInstanceOf', () => {
      assertPassed('legacy', 'an error class exported by a compiled .js module is rebuilt as that class');
      assertPassed('legacy', 'an error class exported by a .ts module is rebuilt as that class');
    });

    test('a module that imports the library through a module of the app (a re-export) is registered too', () => {
      assertPassed(
        'legacy',
        'modules that import the library through a module of the app rebuild their error classes too',
      );
    });

    test('legacy decorators: the declaring modules ran once in the test worker', () => {
      assertPassed('legacy', 'the declaring modules ran once in this process, calls and rebuilt errors included');
    });

    test('standard decorators (lowered by the plugin): a .ts module runs in a child, in the same mode', () => {
      assertPassed('standard', 'standard decorators: a decorated class from a .ts module runs in another process');
    });

    test('standard decorators: an error class exported by the declaring module passes toBeInstanceOf', () => {
      assertPassed('standard', 'standard decorators: an error class exported by the module is rebuilt as that class');
    });

    test('standard decorators: a function wrapped in the same module keeps its name through the lowering', () => {
      assertPassed(
        'standard',
        'standard decorators: a function wrapped under the name of its const, beside them, runs in another process',
      );
    });

    test('standard decorators: the declaring module ran once in the test worker', () => {
      assertPassed('standard', 'standard decorators: the declaring module ran once in this process');
    });

    test('standard decorators: a class declared in the test file is refused with the same message, not a SyntaxError', () => {
      assertRefusedInTestFile('standard');
    });
  });
}

vitestSuite('vitest4', 'vitest 4.1 (Vite 8, Oxc transform) with run-in-process/vitest', {
  command: bin('vitest'),
  args: (app) => ['run', '--root', app === 'legacy' ? join(compat, 'vitest') : join(compat, 'vitest/standard')],
});

// Its vm pool runs test files, and the library with them, in a vm context, where Node's own
// v8.deserialize builds objects in the main realm: errors came back as their references.
vitestSuite('vitest4-vm', 'vitest 4.1 in its vm pool (vmThreads) with run-in-process/vitest', {
  command: bin('vitest'),
  args: (app) => [
    'run',
    '--root',
    app === 'legacy' ? join(compat, 'vitest') : join(compat, 'vitest/standard'),
    '--pool',
    'vmThreads',
  ],
});

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const vitest5 = join(compat, 'vitest5/node_modules/vitest/vitest.mjs');
vitestSuite(
  'vitest5',
  'vitest 5.1 (Vite 8, Oxc transform) with run-in-process/vitest',
  major < 22 || (major === 22 && minor < 12)
    ? `vitest 5 needs Node >= 22.12 (this is ${process.version}); the Node 22 and 24 passes run it`
    : !existsSync(vitest5)
      ? 'test/compat/vitest5 is not installed: scripts/test-node-lines.sh installs it (npm ci --prefix test/compat/vitest5)'
      : {
          command: process.execPath,
          args: (app) => [
            vitest5,
            'run',
            '--config',
            join(compat, app === 'legacy' ? 'vitest5/vitest.config.mjs' : 'vitest5/standard.config.mjs'),
          ],
        },
);

test('run-in-process/vitest without esbuild: standard decorators are a clear error naming what to install', async () => {
  // The plugin imports nothing but node: builtins; copied where no node_modules is above it, it finds no esbuild.
  const dir = mkdtempSync(join(tmpdir(), 'rip-vitest-plugin-'));
  try {
    copyFileSync(join(root, 'dist/vitest.js'), join(dir, 'vitest.js'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
    const { runInProcess } = (await import(
      pathToFileURL(join(dir, 'vitest.js')).href
    )) as typeof import('run-in-process/vitest');
    const plugin = runInProcess();
    plugin.configResolved({ root: dir });
    // Vite's parser, as the plugin context gives it; an object with `decorators` is all the plugin looks for.
    const context = { parse: () => ({ type: 'Program', body: [{ type: 'ClassDeclaration', decorators: [{}] }] }) };
    await assert.rejects(
      plugin.transform.call(context, 'class A { @dec m() {} }', join(dir, 'work.ts')),
      /standard decorators.*Install esbuild/s,
    );
    // No decorators: nothing to lower, and no error; under vitest, an ES module of the app is registered all the same.
    const none = { parse: () => ({ type: 'Program', body: [] }) };
    const vitest = process.env['VITEST'];
    try {
      process.env['VITEST'] = 'true';
      const plain = await plugin.transform.call(none, 'export const a = "x@y";', join(dir, 'plain.ts'));
      assert.equal(plain?.map, null);
      assert.ok(
        plain?.code.includes('?.registry?.modules?.delete(') && plain.code.includes('export const a = "x@y";\n'),
      );
      // Not an ES module (no import or export statement), and not a script: left alone.
      assert.equal(await plugin.transform.call(none, 'const a = 1;\nimport("./b.js");', join(dir, 'plain.ts')), null);
      assert.equal(await plugin.transform.call(none, 'export {}', join(dir, 'data.json')), null);
      // Not under vitest (vite build, with vitest's settings in vite.config.ts): a browser module is left as it is.
      delete process.env['VITEST'];
      assert.equal(await plugin.transform.call(none, 'export const a = "x@y";', join(dir, 'plain.ts')), null);
    } finally {
      if (vitest === undefined) delete process.env['VITEST'];
      else process.env['VITEST'] = vitest;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an esbuild bundle is the declaring module; its guarded main runs only in the parent', async () => {
  const outfile = join(root, 'build/compat/bundle/app.js');
  // Node 20 cannot parse decorators: the target makes esbuild compile them.
  await build({
    entryPoints: [join(compat, 'bundle/app.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['run-in-process'],
    outfile,
    logLevel: 'error',
  });
  const { stdout } = run(outfile, root);
  const mains = stdout.match(/^main ran in \d+$/gm) ?? [];
  assert.equal(mains.length, 1, stdout);
  const [parent] = line(stdout, /^main ran in (\d+)$/m);
  assert.deepEqual(line(stdout, /^scaled (.*)$/m), ['10,20,30']);
  const [children = ''] = line(stdout, /^children (.*)$/m);
  for (const child of children.split(' ')) assert.notEqual(child, parent);
});

/**
 * The app under test/compat/jest, run by jest 30 in ES module mode (its vm modules, a sandbox of its
 * own: `process` there is a copy of Node's). jest is installed apart (test/compat/jest-install), by
 * scripts/test-node-lines.sh, so that the Node 22, 24 and 26 passes run it.
 */
const jest = join(compat, 'jest-install/node_modules/jest/bin/jest.js');
describe('jest 30 (ES modules, --experimental-vm-modules)', {
  skip: existsSync(jest)
    ? false
    : 'test/compat/jest-install is not installed: scripts/test-node-lines.sh installs it (npm ci --prefix test/compat/jest-install)',
}, () => {
  let results: { fullName: string; status: string; failureMessages: string[] }[] = [];

  before(() => {
    const report = join(root, 'build/compat/jest-report.json');
    rmSync(report, { force: true });
    const cwd = join(compat, 'jest');
    const result = spawnSync(
      process.execPath,
      [jest, '--config', 'jest.config.mjs', '--json', `--outputFile=${report}`],
      {
        cwd,
        timeout: 60_000,
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules' },
      },
    );
    assert.ok(existsSync(report), `jest wrote no report:\n${result.stdout}\n${result.stderr}`);
    const parsed = JSON.parse(readFileSync(report, 'utf8')) as {
      testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
    };
    results = parsed.testResults.flatMap((file) => file.assertionResults);
  });

  function assertPassed(title: string): void {
    const result = results.find((candidate) => candidate.fullName === title);
    assert.ok(result, `jest did not run "${title}"`);
    assert.equal(result.status, 'passed', result.failureMessages.join('\n'));
  }

  test('a module evaluated again after jest.resetModules() (the library with it) runs its calls in a child again', () => {
    assertPassed('a module evaluated again after jest.resetModules() runs its calls in a child again');
  });

  test("under jest.useFakeTimers() (which fakes its sandbox's nextTick) a call runs, and its timeout fires in real time", () => {
    assertPassed('under jest.useFakeTimers() a call runs, and its timeout fires in real time');
  });
});
