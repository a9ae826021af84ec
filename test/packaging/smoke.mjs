#!/usr/bin/env node
// Packaging smoke test: packs the library, installs the tarball into fresh apps the way a new user
// would (ESM and CommonJS, both decorator modes, two copies side by side, TypeScript 5 and 7 type
// checks), builds each app with its own tsconfig, runs it and checks what it prints.
//
// Usage: npm run build && node test/packaging/smoke.mjs [--keep]
//   --keep  leaves the temporary directory in place and prints its path (for debugging).
// Prints `ok - …` / `not ok - …` per check and `N passed, N failed`; exits 1 if anything failed.
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const appsDir = fileURLToPath(new URL('apps', import.meta.url));
const keep = process.argv.includes('--keep');
const INSTALL_TIMEOUT_MS = 240_000;
const TSC_TIMEOUT_MS = 120_000;
// Generous: an app that is still running after this did not exit by itself.
const APP_TIMEOUT_MS = 60_000;
const TS7 = '7.0.2';
/** Yarn 4, whose default install (Plug'n'Play) keeps packages in zip archives. */
const YARN = '4.18.1';
const TYPES_NODE = '^20.19.0';
/** The tsx the repository installs (so npm's cache has it), to run the CommonJS app's sources (checkCjsApp). */
const TSX = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')).packages['node_modules/tsx'].version;

// Variables npm sets for a script (when run through `npm run`) would steer the nested npm runs.
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_|INIT_CWD$)/i.test(name)));

// ---------------------------------------------------------------------------------------------
// Reporting

let passed = 0;
let failed = 0;

function report(ok, name, details = []) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}`);
  for (const line of details) console.log(`  # ${line}`);
}

/** Runs `body`; a thrown error fails the check and its message (and any `output`) is shown. */
function check(name, body) {
  try {
    const notes = body() ?? [];
    report(true, name, notes);
  } catch (error) {
    const details = String(error?.message ?? error).split('\n');
    if (error?.output) details.push('output:', ...indentTail(error.output));
    report(false, name, details);
  }
}

function note(text) {
  for (const line of String(text).split('\n')) console.log(`# ${line}`);
}

function indentTail(text, lines = 40) {
  const all = String(text).trimEnd().split('\n');
  return (all.length > lines ? ['…', ...all.slice(-lines)] : all).map((line) => `  ${line}`);
}

function finish(tmp) {
  if (tmp) {
    if (keep) note(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Processes

function run(command, args, cwd, timeout) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  return {
    status: result.status,
    signal: result.signal,
    timedOut: result.error?.code === 'ETIMEDOUT',
    error: result.error,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
  };
}

function runAsync(command, args, cwd, timeout) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeout);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ status: null, signal: null, timedOut, error, stdout, stderr });
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, timedOut, error: undefined, stdout, stderr });
    });
  });
}

function failure(message, result) {
  return Object.assign(new Error(message), { output: `${result.stdout}${result.stderr}` });
}

function expectSuccess(what, result, timeout) {
  if (result.timedOut) throw failure(`${what} did not finish within ${timeout / 1000} s`, result);
  if (result.error) throw failure(`${what} could not start: ${result.error.message}`, result);
  if (result.status !== 0) throw failure(`${what} exited with ${result.status ?? result.signal}`, result);
}

// ---------------------------------------------------------------------------------------------
// Files

function newestMtime(dir, filter) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !filter(entry.name)) continue;
    newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

// ---------------------------------------------------------------------------------------------
// The project: the fixture apps in ./apps, each with its own package.json and tsconfig.json, under
// one package.json that installs the tarball twice (as itself and as the alias `rip2`).

function writeProject(project, tarballFile) {
  // A fixture built or installed in place must not leak its output into the fresh copy.
  cpSync(appsDir, project, { recursive: true, filter: (path) => !/[\\/](node_modules|build)$/.test(path) });
  const dependency = `file:./${basename(tarballFile)}`;
  const manifest = {
    name: 'run-in-process-packaging-smoke',
    private: true,
    dependencies: {
      'run-in-process': dependency,
      rip2: dependency,
      typescript: TS7,
      '@types/node': TYPES_NODE,
      tsx: TSX,
      '@yarnpkg/cli-dist': YARN,
    },
  };
  writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  cpSync(tarballFile, join(project, basename(tarballFile)));
}

// ---------------------------------------------------------------------------------------------
// Checks on the output of an app

function results(stdout) {
  const found = new Map();
  for (const line of stdout.split('\n')) {
    const match = /^([\w-]+): (\{.*\})$/.exec(line);
    if (match) found.set(match[1], JSON.parse(match[2]));
  }
  return found;
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

function need(found, label) {
  const value = found.get(label);
  expect(value !== undefined, `no "${label}: …" line was printed`);
  return value;
}

function inChild(found, label) {
  const mainPid = need(found, 'main').pid;
  const value = need(found, label);
  expect(typeof value.pid === 'number', `${label}: no child pid in ${JSON.stringify(value)}`);
  expect(value.pid !== mainPid, `${label} ran in the main process (pid ${mainPid})`);
  return value;
}

function same(actual, expected, what) {
  expect(
    JSON.stringify(actual) === JSON.stringify(expected),
    `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
  );
}

/** Compiles an app with its own tsconfig, then runs it; both outcomes are checks. Returns the run, if any. */
/** `dir` and `tsconfig` name the folder and project file when one app folder builds several ways. */
function buildAndRun(project, app, mainFile, { emitted, dir = app, tsconfig = 'tsconfig.json' } = {}) {
  const appDir = join(project, dir);
  const tsc = join(project, 'node_modules', '.bin', 'tsc');
  let compiled = false;
  check(`${app}: tsc -p ${dir}/${tsconfig} (TypeScript ${TS7}) compiles`, () => {
    const result = run(tsc, ['-p', join(appDir, tsconfig)], appDir, TSC_TIMEOUT_MS);
    expectSuccess('tsc', result, TSC_TIMEOUT_MS);
    compiled = true;
    if (emitted) return emitted(appDir);
  });
  if (!compiled) return undefined;
  const result = run(process.execPath, [mainFile], appDir, APP_TIMEOUT_MS);
  check(`${app}: node ${mainFile} exits by itself with code 0 after shutdown()`, () => {
    if (result.timedOut)
      throw failure(`still running after ${APP_TIMEOUT_MS / 1000} s (something keeps it alive)`, result);
    expectSuccess(`node ${mainFile}`, result, APP_TIMEOUT_MS);
    same(need(results(result.stdout), 'shutdown'), { done: true }, 'shutdown');
  });
  if (result.stderr.trim()) note(`${app} wrote to stderr:\n${indentTail(result.stderr, 20).join('\n')}`);
  return { ...result, found: results(result.stdout) };
}

function emittedContains(file, patterns) {
  return (appDir) => {
    const text = readFileSync(join(appDir, file), 'utf8');
    for (const pattern of patterns)
      expect(pattern.test(text), `${file} does not match ${pattern}: the tsconfig's mode did not take effect`);
  };
}

/** One ESM app, apps/esm, compiled once per decorator mode from the same sources. */
function checkEsmApp(project, mode) {
  const app = `esm-${mode}`;
  const legacy = mode === 'legacy';
  const ran = buildAndRun(project, app, `build/${mode}/main.js`, {
    dir: 'esm',
    tsconfig: `tsconfig.${mode}.json`,
    emitted: emittedContains(
      `build/${mode}/work.js`,
      legacy ? [/__decorate\(/, /__metadata\("design:returntype"/] : [/__esDecorate\(/],
    ),
  });
  if (!ran) return;
  const { found } = ran;
  check(`${app}: decorated instance method runs in a child and sees \`this\``, () => {
    same(inChild(found, 'instance').sum, 42, 'sum (this.base + n)');
  });
  check(`${app}: decorated static method runs in a child with \`this\` = the class`, () => {
    same(inChild(found, 'static').text, 'Counter:hi', 'text');
  });
  check(`${app}: wrapped function runs in a child`, () => {
    same(inChild(found, 'function').value, 49, 'value');
  });
  check(`${app}: a thrown exported error class comes back instanceof that class, fields kept`, () => {
    const error = need(found, 'custom-error');
    same(
      error,
      { instanceOf: true, isError: true, name: 'QuotaError', message: 'over quota 5', limit: 5 },
      'custom-error',
    );
  });
  check(`${app}: process.exit(3) in a method gives ProcessCrashedError with exitCode 3`, () => {
    same(need(found, 'crash'), { instanceOf: true, exitCode: 3, code: 'ERR_PROCESS_CRASHED' }, 'crash');
  });
  check(`${app}: the pool serves calls after a crash`, () => {
    same(inChild(found, 'after-crash').sum, 2, 'sum');
  });
  if (legacy) {
    check(
      `${app}: with emitDecoratorMetadata, a method declared to return number is refused when its class loads`,
      () => {
        const refused = need(found, 'misdeclared');
        expect(
          refused.name === 'TypeError' && /declared to return Number/.test(refused.message ?? ''),
          `got ${JSON.stringify(refused)}`,
        );
      },
    );
  }
}

function checkCjsApp(project) {
  const app = 'cjs-legacy';
  const ran = buildAndRun(project, app, 'build/main.js', {
    emitted: (appDir) => {
      const main = readFileSync(join(appDir, 'build/main.js'), 'utf8');
      expect(
        /require\("run-in-process"\)/.test(main),
        'build/main.js does not require("run-in-process"): not emitted as CommonJS',
      );
      expect(!/^\s*import\s/m.test(main), 'build/main.js still has an import statement');
    },
  });
  if (!ran) return;
  const { found } = ran;
  check(`${app}: the app really runs as CommonJS`, () => {
    same(need(found, 'main').moduleKind, 'object', 'typeof module in main');
  });
  check(`${app}: decorated instance method of a class in a CJS module runs in a child that loaded that module`, () => {
    const greeting = inChild(found, 'instance');
    same(greeting.text, 'hello, cjs', 'text');
    same(greeting.moduleKind, 'object', 'typeof module in the child');
    same(greeting.file, join(realpathSync(project), app, 'build', 'work.js'), '__filename in the child');
  });
  check(`${app}: decorated static method runs in a child`, () => {
    same(inChild(found, 'static').name, 'Greeter', 'name');
  });
  check(`${app}: wrapped function in a CJS module runs in a child`, () => {
    same(inChild(found, 'function').value, 15, 'value');
  });
  check(`${app}: an error class exported from a CJS module comes back instanceof that class`, () => {
    same(need(found, 'custom-error'), { instanceOf: true, limit: 9 }, 'custom-error');
  });
  check(
    `${app}: process.exit(3) in a static method gives ProcessCrashedError (required from the ESM package) with exitCode 3`,
    () => {
      same(need(found, 'crash'), { instanceOf: true, exitCode: 3 }, 'crash');
    },
  );
  // Under tsx, the app's require('run-in-process') is tsx's compiled copy of the library, while the
  // pool the library loads with import() is Node's: two copies, whose error classes must still match.
  const tsx = run(join(project, 'node_modules', '.bin', 'tsx'), ['src/main.ts'], join(project, app), APP_TIMEOUT_MS);
  check(`${app}: run from its sources by tsx, a ProcessCrashedError is instanceof the class the app required`, () => {
    expectSuccess('tsx src/main.ts', tsx, APP_TIMEOUT_MS);
    const under = results(tsx.stdout);
    same(need(under, 'main').moduleKind, 'object', 'typeof module in main');
    same(need(under, 'crash'), { instanceOf: true, exitCode: 3 }, 'crash');
  });
  const warnings = ran.stderr.split('\n').filter((line) => /ExperimentalWarning/.test(line));
  if (warnings.length > 0) note(`${app}: require(esm) warned (acceptable): ${warnings.join(' | ')}`);
  else note(`${app}: require(esm) printed no ExperimentalWarning`);
}

/**
 * An app that bundles the library into its own code (esbuild, all packages in) cannot run calls:
 * the child's entry is a file the library loads by path. The first call says so, and what to do.
 */
function checkBundledApp(project) {
  const dir = join(project, 'bundled');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'app.mjs'),
    `import { runInProcess, shutdown } from 'run-in-process';
const double = runInProcess(function double(x) { return x * 2; }, { module: import.meta.url });
try {
  console.log('called: ' + JSON.stringify({ value: await double(21) }));
} catch (error) {
  console.log('called: ' + JSON.stringify({ name: error.constructor.name, message: error.message }));
}
await shutdown();
console.log('shutdown: ' + JSON.stringify({ done: true }));
`,
  );
  const esbuild = join(repoRoot, 'node_modules', '.bin', 'esbuild');
  // The library's own CommonJS requires (reflect-metadata) need a require in an ES module bundle.
  const banner =
    "import { createRequire as makeRequire } from 'node:module'; const require = makeRequire(import.meta.url);";
  const bundled = run(
    esbuild,
    [
      'app.mjs',
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--outfile=out/app.mjs',
      '--log-level=error',
      `--banner:js=${banner}`,
    ],
    dir,
    TSC_TIMEOUT_MS,
  );
  check('bundled app: esbuild bundles the library into an app', () =>
    expectSuccess('esbuild', bundled, TSC_TIMEOUT_MS),
  );
  if (bundled.status !== 0) return;
  const result = run(process.execPath, ['out/app.mjs'], dir, APP_TIMEOUT_MS);
  check('bundled app: its first call fails with an error that says to keep the library external, and it exits', () => {
    expectSuccess('node out/app.mjs', result, APP_TIMEOUT_MS);
    const found = results(result.stdout);
    const called = need(found, 'called');
    expect(called.name === 'RunInProcessError', `expected a RunInProcessError, got ${JSON.stringify(called)}`);
    for (const words of ['bundled', '--external:run-in-process', 'child/runner.js'])
      expect(called.message.includes(words), `the message does not say "${words}": ${called.message}`);
    same(need(found, 'shutdown'), { done: true }, 'shutdown');
  });
}

function checkTwoCopies(project) {
  const app = 'two-copies';
  const ran = buildAndRun(project, app, 'build/main.js');
  if (!ran) return;
  const { found } = ran;
  check(`${app}: "run-in-process" and its alias "rip2" are two separate copies of the library`, () => {
    const copies = need(found, 'copies');
    expect(copies.distinct === true, 'both imports gave the same module');
    expect(copies.pathA !== copies.pathB, `both resolve to ${copies.pathA}`);
    return [`copy A: ${relative(project, copies.pathA)}`, `copy B: ${relative(project, copies.pathB)}`];
  });
  check(`${app}: a class decorated through copy A runs in a child of copy A's pool`, () => {
    const result = inChild(found, 'via-a');
    same({ tag: result.tag, pool: result.pool }, { tag: 'a', pool: 'A' }, 'via-a');
  });
  check(`${app}: a class decorated through copy B runs in a child of copy B's pool`, () => {
    const result = inChild(found, 'via-b');
    same({ tag: result.tag, pool: result.pool }, { tag: 'b', pool: 'B' }, 'via-b');
  });
  check(`${app}: a pool that copy A sandboxed, called through code of copy B, is refused, not run unsandboxed`, () => {
    const refused = need(found, 'across-sandboxed');
    same(
      { name: refused.name, code: refused.code },
      { name: 'TypeError', code: 'ERR_INVALID_USAGE' },
      'across-sandboxed',
    );
    for (const words of ['is sandboxed (permissions) in another copy of run-in-process', 'npm ls run-in-process'])
      expect(refused.message.includes(words), `the message does not say "${words}": ${refused.message}`);
  });
  check(
    `${app}: a pool that only copy A configured warns, when code of copy B calls it, that another copy configured it`,
    () => {
      const { ran, warning } = need(found, 'across-plain');
      expect(ran === true, 'the call did not run');
      expect(/configured through another copy of run-in-process/.test(warning ?? ''), `no such warning: ${warning}`);
    },
  );
  check(`${app}: shutdown() of copy A also ends the children of copy B's pools`, () => {
    same(need(found, 'before-shutdown').aliveInB, [true, true], 'before');
    same(need(found, 'after-shutdown').aliveInB, [false, false], 'after');
  });
  check(`${app}: both copies agree they are in a child (isChildProcess is shared on globalThis)`, () => {
    same(
      [need(found, 'via-a').otherCopySaysChild, need(found, 'via-b').otherCopySaysChild],
      [true, true],
      'other copy isChildProcess()',
    );
  });
}

/**
 * pnpm's layout, made by hand from the npm install (no pnpm to fetch): the package in
 * node_modules/.pnpm/<name>@<version>/node_modules/, its dependencies beside it, and the app's
 * node_modules/run-in-process a symlink to it. A package there finds its dependencies only from its
 * real path. On Node 20 a child's fstat of its lifeline left a socket in the stat buffer that Node's
 * realpathSync reads again, the ES module resolver took the symlink for the real path, and every
 * call failed with "Cannot find module 'reflect-metadata'".
 */
function checkPnpmLayout(project) {
  check(
    'pnpm layout (the package behind a symlink, its dependencies beside its real path): a call runs in a child',
    () => {
      // Beside the project, not in it: a lookup from the symlink's path would find the project's own
      // node_modules above it, and the failure would not show.
      const dir = join(project, '..', 'pnpm-app');
      const installed = join(project, 'node_modules', 'run-in-process');
      const { version, dependencies } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
      const store = join(dir, 'node_modules', '.pnpm', `run-in-process@${version}`, 'node_modules');
      cpSync(installed, join(store, 'run-in-process'), { recursive: true, dereference: true });
      for (const name of Object.keys(dependencies))
        symlinkSync(join(project, 'node_modules', name), join(store, name), 'dir');
      symlinkSync(join(store, 'run-in-process'), join(dir, 'node_modules', 'run-in-process'), 'dir');
      writeFileSync(
        join(dir, 'double.mjs'),
        `import { runInProcess } from 'run-in-process';
export const double = runInProcess(async function double(x) { return { value: x * 2, pid: process.pid }; });
`,
      );
      writeFileSync(
        join(dir, 'app.mjs'),
        `import { shutdown } from 'run-in-process';
import { double } from './double.mjs';
console.log('main: ' + JSON.stringify({ pid: process.pid }));
try {
  console.log('called: ' + JSON.stringify(await double(21)));
} catch (error) {
  console.log('called: ' + JSON.stringify({ name: error.constructor.name, message: error.message }));
}
await shutdown();
console.log('shutdown: ' + JSON.stringify({ done: true }));
`,
      );
      const result = run(process.execPath, ['app.mjs'], dir, APP_TIMEOUT_MS);
      expectSuccess('node app.mjs', result, APP_TIMEOUT_MS);
      const found = results(result.stdout);
      same(inChild(found, 'called').value, 42, 'double(21)');
      same(need(found, 'shutdown'), { done: true }, 'shutdown');
    },
  );
}

/**
 * Yarn's default install, Plug'n'Play: packages stay in zip archives that only Yarn's runtime reads,
 * which NODE_OPTIONS loads in the app and its children, after the child's own first `--require`.
 * Zipped, the library refuses to start children, saying to unplug it; unplugged, its calls run in
 * children; a sandboxed pool (whose children start with an empty environment) is refused either way.
 */
function checkYarnPlugAndPlay(project, tarballFile) {
  const dir = join(project, '..', 'yarn-app');
  const yarn = join(project, 'node_modules', '@yarnpkg', 'cli-dist', 'bin', 'yarn.js');
  const manifest = {
    name: 'yarn-app',
    private: true,
    type: 'module',
    packageManager: `yarn@${YARN}`,
    dependencies: { 'run-in-process': `file:${tarballFile}` },
  };
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'yarn.lock'), ''); // This folder is a Yarn project of its own.
  // The registry npm uses (npm sets npm_config_registry for the scripts it runs), not Yarn's own.
  const registry = process.env.npm_config_registry || 'https://registry.npmjs.org/';
  writeFileSync(
    join(dir, '.yarnrc.yml'),
    // Not immutable, as Yarn is on CI by default: the lockfile is made here.
    `enableTelemetry: false\nenableGlobalCache: false\nenableImmutableInstalls: false\nnpmRegistryServer: ${JSON.stringify(registry)}\n`,
  );
  writeFileSync(
    join(dir, 'work.mjs'),
    `import { runInProcess } from 'run-in-process';
export const where = runInProcess(async function where() { return { pid: process.pid }; });
export const guarded = runInProcess(async function guarded() { return { pid: process.pid }; }, { pool: 'guarded' });
`,
  );
  writeFileSync(
    join(dir, 'app.mjs'),
    `import { configure, shutdown } from 'run-in-process';
import { guarded, where } from './work.mjs';
configure('guarded', { permissions: { fsRead: [process.cwd()] } });
const failure = (error) => ({ name: error.constructor.name, message: error.message });
console.log('main: ' + JSON.stringify({ pid: process.pid, pnp: process.versions.pnp }));
console.log('called: ' + JSON.stringify(await where().catch(failure)));
console.log('sandboxed: ' + JSON.stringify(await guarded().catch(failure)));
await shutdown();
console.log('shutdown: ' + JSON.stringify({ done: true }));
`,
  );
  const install = (label) => {
    const result = run(process.execPath, [yarn, 'install'], dir, INSTALL_TIMEOUT_MS);
    expectSuccess(`yarn install (${label})`, result, INSTALL_TIMEOUT_MS);
  };
  const runApp = () => {
    const result = run(process.execPath, [yarn, 'node', 'app.mjs'], dir, APP_TIMEOUT_MS);
    expectSuccess('yarn node app.mjs', result, APP_TIMEOUT_MS);
    const found = results(result.stdout);
    expect(typeof need(found, 'main').pnp === 'string', "the app did not run under Plug'n'Play");
    same(need(found, 'shutdown'), { done: true }, 'shutdown');
    return found;
  };
  const refusedSandbox = (found) => {
    const { name, message } = need(found, 'sandboxed');
    same(name, 'ChildStartupError', 'the sandboxed call');
    expect(message.includes('nodeLinker: node-modules'), `the message does not say what to do: ${message}`);
  };
  check(`Yarn ${YARN} Plug'n'Play, the library zipped: calls fail at once, saying to unplug it`, () => {
    install('zipped');
    const found = runApp();
    const { name, message } = need(found, 'called');
    same(name, 'ChildStartupError', 'the call');
    expect(message.includes('"unplugged": true'), `the message does not say to unplug it: ${message}`);
    refusedSandbox(found);
  });
  check(`Yarn ${YARN} Plug'n'Play, the library unplugged: a call runs in a child; a sandboxed pool is refused`, () => {
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ ...manifest, dependenciesMeta: { 'run-in-process': { unplugged: true } } }),
    );
    install('unplugged');
    const found = runApp();
    inChild(found, 'called');
    refusedSandbox(found);
  });
}

/** Parses `tsc --pretty false` output: diagnostics (with their continuation lines) by file. */
function diagnostics(output) {
  const byFile = new Map();
  let last;
  let lastList;
  for (const line of output.split('\n')) {
    const match = /^(.*?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
    if (match) {
      const [, file, row, code, text] = match;
      if (!byFile.has(file)) byFile.set(file, []);
      last = `${file}:${row} ${code} ${text}`;
      lastList = byFile.get(file);
      lastList.push(last);
    } else if (last !== undefined && /^\s+\S/.test(line)) {
      lastList[lastList.length - 1] += `\n${line}`;
    } else if (/error TS\d+/.test(line)) {
      if (!byFile.has('')) byFile.set('', []);
      byFile.get('').push(line);
    }
  }
  return byFile;
}

function typeCheck(tscPath, cwd, configFile) {
  const result = run(tscPath, ['--noEmit', '--pretty', 'false', '-p', configFile], cwd, TSC_TIMEOUT_MS);
  if (result.timedOut || result.error) expectSuccess('tsc', result, TSC_TIMEOUT_MS);
  const byFile = diagnostics(`${result.stdout}${result.stderr}`);
  if (result.status !== 0 && byFile.size === 0)
    throw failure(`tsc exited with ${result.status ?? result.signal} but reported no diagnostics`, result);
  // Anything not in the consumer's own sources: the published .d.ts files, or the setup.
  const elsewhere = [...byFile].filter(([file]) => !file.startsWith('src/')).flatMap(([, errors]) => errors);
  return { byFile, elsewhere };
}

/** (f) One tsc run over apps/types/src; each file holds one expectation, so each is its own check. */
function typeChecks(label, tscPath, cwd, configFile) {
  let checked;
  check(`${label}: the published .d.ts files type-check (no skipLibCheck)`, () => {
    checked = typeCheck(tscPath, cwd, configFile);
    expect(checked.elsewhere.length === 0, `errors outside the consumer's sources:\n${checked.elsewhere.join('\n')}`);
  });
  if (!checked) return;
  const expectations = [
    ['correct.ts', 'correct use compiles'],
    ['no-node-globals.ts', 'a consumer using no Node globals compiles'],
    ['misuse-sync-method.ts', 'decorating a method that returns number is a compile error'],
    ['misuse-getter.ts', 'decorating a getter is a compile error'],
    ['misuse-wrong-args.ts', 'runInProcess(function f(a: string, b: number)) keeps parameter and return types'],
  ];
  for (const [file, what] of expectations) {
    check(`${label}: ${what} (${file})`, () => {
      const errors = checked.byFile.get(`src/${file}`) ?? [];
      expect(errors.length === 0, errors.join('\n'));
    });
  }
  check(
    `${label}: the compile error for a method that is not async says to make it async (message-sync-method.ts)`,
    () => {
      const errors = (checked.byFile.get('src/message-sync-method.ts') ?? []).join('\n');
      expect(/make it an async method/.test(errors), errors || 'no error at all');
    },
  );
  check(`${label}: the compile error for a decorated field says to make it an async method (message-field.ts)`, () => {
    const errors = (checked.byFile.get('src/message-field.ts') ?? []).join('\n');
    expect(/make it an async method/.test(errors), errors || 'no error at all');
  });
  check(
    `${label}: the compile error for a decorator given a name says to leave it out (message-decorator-name.ts)`,
    () => {
      const errors = (checked.byFile.get('src/message-decorator-name.ts') ?? []).join('\n');
      expect(/leave name out/.test(errors), errors || 'no error at all');
    },
  );
  check(
    `${label}: the compile error for a mistyped option of a wrapper names the option (message-wrapper-option.ts)`,
    () => {
      const errors = (checked.byFile.get('src/message-wrapper-option.ts') ?? []).join('\n');
      expect(/'timout' does not exist in type 'WrapperOptions'/.test(errors), errors || 'no error at all');
    },
  );
}

/**
 * TypeScript 5 resolves a CommonJS app's imports as Node 10 did (`"module": "commonjs"` implies
 * `node10`), which reads no `exports`: the subpaths' types are found through `typesVersions`.
 */
function node10Check(label, tscPath, cwd) {
  check(`${label}: "module": "commonjs" (node10 resolution) finds the types of run-in-process and its subpaths`, () => {
    const { byFile } = typeCheck(tscPath, cwd, 'tsconfig.node10.json');
    // The optional peers are not installed here: the .d.ts of the bullmq subpath cannot find theirs.
    const peerMissing = /TS2307 Cannot find module '(ioredis|bullmq)'/;
    const errors = [...byFile.values()].flat().filter((error) => !peerMissing.test(error));
    expect(errors.length === 0, errors.join('\n'));
  });
}

/** TypeScript ≥ 6 includes no @types package unless `types` lists it: the .d.ts must not rely on one. */
function defaultTypesCheck(label, tscPath, cwd) {
  check(`${label}: without "types": ["node"] in the consumer's tsconfig, the .d.ts files still type-check`, () => {
    const { byFile } = typeCheck(tscPath, cwd, 'tsconfig.default-types.json');
    const errors = [...byFile.values()].flat();
    expect(errors.length === 0, errors.join('\n'));
  });
  check(
    `${label}: with the ES2022 lib alone (no DOM, no @types/node), the .d.ts files need only URL and AbortSignal`,
    () => {
      const { byFile } = typeCheck(tscPath, cwd, 'tsconfig.es-only.json');
      const errors = [...byFile.values()].flat();
      expect(errors.length === 0, errors.join('\n'));
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  check('dist/index.js exists (run `npm run build` first)', () => {
    if (!existsSync(join(repoRoot, 'dist', 'index.js')))
      throw new Error(`${join(repoRoot, 'dist', 'index.js')} is missing: run \`npm run build\` at the root first`);
  });
  if (failed > 0) return finish();
  const srcNewest = newestMtime(join(repoRoot, 'src'), (name) => name.endsWith('.ts'));
  const distNewest = newestMtime(join(repoRoot, 'dist'), (name) => name.endsWith('.js'));
  if (srcNewest > distNewest)
    note('warning: src/ has files newer than dist/; this tests dist as built (run `npm run build`)');

  const started = Date.now();
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'rip-smoke-')));
  try {
    await smoke(tmp);
  } finally {
    note(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
    finish(tmp);
  }
}

async function smoke(tmp) {
  // 1. The tarball and what it ships.
  let tarball;
  check('npm pack produces a tarball', () => {
    const result = run('npm', ['pack', '--json', '--pack-destination', tmp], repoRoot, INSTALL_TIMEOUT_MS);
    expectSuccess('npm pack', result, INSTALL_TIMEOUT_MS);
    const [info] = JSON.parse(result.stdout.slice(result.stdout.indexOf('[')));
    tarball = info;
    return [`${info.filename}: ${info.entryCount} files, ${info.size} bytes packed, ${info.unpackedSize} unpacked`];
  });
  if (!tarball) return;
  check(
    'the tarball holds only package.json, README.md, LICENSE, dist/**/*.{js,d.ts} and dist/child/sentinel-first.cjs',
    () => {
      const files = tarball.files.map((file) => file.path);
      const allowed = (path) =>
        path === 'package.json' ||
        /^README(\.md)?$/i.test(path) ||
        /^LICEN[CS]E(\.\w+)?$/i.test(path) ||
        /^dist\/.+(\.d\.ts|\.js)$/.test(path) ||
        path === 'dist/child/sentinel-first.cjs';
      const unexpected = files.filter((path) => !allowed(path));
      expect(unexpected.length === 0, `unexpected files: ${unexpected.join(', ')}`);
      expect(
        files.includes('dist/index.js') && files.includes('dist/index.d.ts'),
        'dist/index.js or dist/index.d.ts is missing',
      );
      expect(files.includes('dist/child/runner.js'), 'dist/child/runner.js (the child entry) is missing');
      expect(
        files.includes('dist/child/sentinel-first.cjs'),
        "dist/child/sentinel-first.cjs (a child's first --require) is missing",
      );
      const topLevel = files.filter((path) => !path.startsWith('dist/'));
      return [`${topLevel.join(', ')} and ${files.length - topLevel.length} files under dist/`];
    },
  );

  // 2. One project, one install for the apps; a second install for TypeScript 5, run alongside.
  const project = join(tmp, 'project');
  const typesDir = join(project, 'types');
  writeProject(project, join(tmp, tarball.filename));
  const npmInstall = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
  const [appsInstall, ts5Install] = await Promise.all([
    runAsync('npm', npmInstall, project, INSTALL_TIMEOUT_MS),
    runAsync('npm', npmInstall, typesDir, INSTALL_TIMEOUT_MS),
  ]);
  let installed = false;
  check(
    `npm install: the tarball as run-in-process and as alias rip2, typescript@${TS7}, @types/node@${TYPES_NODE}, tsx@${TSX}, @yarnpkg/cli-dist@${YARN}`,
    () => {
      expectSuccess('npm install', appsInstall, INSTALL_TIMEOUT_MS);
      installed = true;
    },
  );
  if (!installed) return;
  checkEsmApp(project, 'standard');
  checkEsmApp(project, 'legacy');
  checkCjsApp(project);
  checkTwoCopies(project);
  checkBundledApp(project);
  checkPnpmLayout(project);
  checkYarnPlugAndPlay(project, join(tmp, tarball.filename));

  const tsc7 = join(project, 'node_modules', '.bin', 'tsc');
  typeChecks(`types, TypeScript ${TS7}, standard decorators`, tsc7, typesDir, 'tsconfig.standard.json');
  typeChecks(`types, TypeScript ${TS7}, experimentalDecorators`, tsc7, typesDir, 'tsconfig.legacy.json');
  defaultTypesCheck(`types, TypeScript ${TS7}`, tsc7, typesDir);

  let ts5Version;
  check('npm install typescript@5 in a separate folder (types/)', () => {
    expectSuccess('npm install typescript@5', ts5Install, INSTALL_TIMEOUT_MS);
    ts5Version = JSON.parse(readFileSync(join(typesDir, 'node_modules', 'typescript', 'package.json'), 'utf8')).version;
    expect(/^5\./.test(ts5Version), `installed typescript ${ts5Version}`);
    return [`typescript ${ts5Version}`];
  });
  if (!ts5Version) return;
  const tsc5 = join(typesDir, 'node_modules', '.bin', 'tsc');
  typeChecks(`types, TypeScript ${ts5Version}, standard decorators`, tsc5, typesDir, 'tsconfig.standard.json');
  typeChecks(`types, TypeScript ${ts5Version}, experimentalDecorators`, tsc5, typesDir, 'tsconfig.legacy.json');
  node10Check(`types, TypeScript ${ts5Version}`, tsc5, typesDir);
}

await main();
