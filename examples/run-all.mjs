#!/usr/bin/env node
// Installs and runs every example the way a user would (`npm install`, then `npm start`) and checks
// what each prints. Exits non-zero, naming the failed check, if any example misbehaves.
// Usage: node examples/run-all.mjs [name-fragment ...]   (needs `npm run build` at the root first)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const INSTALL_TIMEOUT_MS = 300_000;
const START_TIMEOUT_MS = 120_000;

/** Finds `pattern` in the output or throws, saying which line was expected. */
function expectLine(output, pattern) {
  const match = output.match(pattern);
  if (!match) throw new Error(`expected a line matching ${pattern}`);
  return match;
}

function expectChildPid(output, mainPattern, childPattern) {
  const mainPid = Number(expectLine(output, mainPattern)[1]);
  const childPid = Number(expectLine(output, childPattern)[1]);
  if (childPid === mainPid) throw new Error(`${childPattern} ran in the main process (pid ${mainPid})`);
}

/** True while a process with this pid exists. */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

const examples = [
  {
    dir: '01-class-methods',
    check(out) {
      expectLine(out, /^primes below 40000000: 2433654$/m);
      expectLine(out, /^results match inline: yes$/m);
      const inline = Number(expectLine(out, /^event-loop max delay inline: (\d+) ms$/m)[1]);
      const offloaded = Number(expectLine(out, /^event-loop max delay offloaded: (\d+) ms$/m)[1]);
      if (!(offloaded < inline))
        throw new Error(
          `offloading did not lower the event-loop delay (inline ${inline} ms, offloaded ${offloaded} ms)`,
        );
    },
  },
  {
    dir: '02-unsafe-native',
    check(out) {
      expectChildPid(out, /^main pid (\d+)$/m, /^strlen\("hello, native world"\) -> \{"length":19,"pid":(\d+)\}$/m);
      expectLine(out, /^strlen\(0x1\) -> ProcessCrashedError signal=SIGSEGV /m);
      expectChildPid(out, /^main pid (\d+)$/m, /^strlen\("still serving"\) -> \{"length":13,"pid":(\d+)\}$/m);
      expectLine(out, /^abort\(\) -> ProcessCrashedError signal=SIGABRT /m);
      expectLine(out, /^sleep\(100\) -> TimeoutError after 1000 ms$/m);
      expectLine(out, /^strlen\("after the timeout"\) -> \{"length":17,"pid":\d+\}$/m);
      expectLine(out, /^main process still alive: yes$/m);
    },
  },
  {
    dir: '03-plugins',
    check(out) {
      expectLine(out, /^host pid \d+, found 4 plugins: checksum\.js, runaway\.js, shout\.js, word-stats\.js$/m);
      expectChildPid(out, /^host pid (\d+)/m, /^checksum\.js: sha256 [0-9a-f]{16}… \(child pid (\d+)\)$/m);
      expectChildPid(out, /^host pid (\d+)/m, /^shout\.js: A PROCESS POOL RUNS CODE IN OT… \(child pid (\d+)\)$/m);
      expectChildPid(
        out,
        /^host pid (\d+)/m,
        /^word-stats\.js: \d+ distinct words, most frequent "code" \(4x\) \(child pid (\d+)\)$/m,
      );
      expectLine(out, /^runaway\.js: stopped by TimeoutError after 1500 ms$/m);
    },
  },
  {
    dir: '04-library/app',
    check(out) {
      expectLine(out, /^fast-hash-lib installed as a real copy in node_modules$/m);
      expectChildPid(
        out,
        /^main pid (\d+)$/m,
        /^package\.json: sha256 [0-9a-f]{16}… \d+ bytes, child pid (\d+), matches inline: yes$/m,
      );
      expectLine(
        out,
        /^fast-hash-lib-1\.0\.0\.tgz: sha256 [0-9a-f]{16}… \d+ bytes, child pid \d+, matches inline: yes$/m,
      );
      expectLine(
        out,
        /^ {2}child imported file:\/\/\/\S*\/04-library\/app\/node_modules\/fast-hash-lib\/dist\/file-hasher\.js$/m,
      );
    },
  },
  {
    dir: '05-tracing',
    check(out) {
      const spans = new Map();
      for (const [, name, traceId, id, parent, pid, error] of out.matchAll(
        /^span "([^"]+)" trace (\w+) id (\w+) parent (\S+) pid (\d+)(?: error "([^"]*)")?$/gm,
      )) {
        if (spans.has(name)) throw new Error(`span "${name}" was exported twice`);
        spans.set(name, { traceId, id, parent, pid: Number(pid), error });
      }
      const request = spans.get('handle request');
      const call = spans.get('call Renderer.render');
      const method = spans.get('run Renderer.render');
      const inner = spans.get('sum');
      const failedCall = spans.get('call Renderer.refuse');
      const failedMethod = spans.get('run Renderer.refuse');
      if (!request || !call || !method || !inner || !failedCall || !failedMethod) {
        throw new Error(`expected six spans, got ${[...spans.keys()].join(', ')}`);
      }
      if (call.parent !== request.id) throw new Error('the call span is not under the request span');
      if (method.parent !== call.id) throw new Error("the child's span is not under the call span");
      if (inner.parent !== method.id) throw new Error("the method's own span is not under the child's span");
      if (failedMethod.parent !== failedCall.id) throw new Error("the failed call's spans are not linked");
      for (const span of [failedCall, failedMethod]) {
        if (span.error !== 'size 1000000000 is too large') throw new Error('a failed call span has no error status');
      }
      if (new Set([...spans.values()].map((span) => span.traceId)).size !== 1) throw new Error('one trace expected');
      // OpenTelemetry says so (the example sets its diagnostic logger) when a span is ended twice.
      if (/end\(\) on a span once|ended Span/.test(out)) throw new Error(`a span was ended twice:\n${out}`);
      expectChildPid(out, /^main pid (\d+)$/m, /^span "run Renderer\.render" .* pid (\d+)$/m);
      expectLine(out, /^render\(5\) = \d+$/m);
    },
  },
  {
    dir: '06-streaming',
    check(out) {
      expectLine(out, /estimating pi \[.*\] 40\/40 steps/);
      expectChildPid(out, /^main pid (\d+)$/m, /^pi ≈ 3\.14 from child pid (\d+); 40 progress events drove the bar$/m);
      expectChildPid(
        out,
        /^main pid (\d+)$/m,
        /^first row scoring above 0\.999: #\d+ \(score 0\.9\d+\), from child pid (\d+)$/m,
      );
      expectLine(out, /^read \d+ rows; the child made \d+, at most 16 ahead: yes$/m);
    },
  },
  {
    dir: '07-sandbox',
    check(out) {
      expectLine(out, /^host pid \d+, sandboxed plugins: snoop\.js, vandal\.js, word-count\.js$/m);
      expectLine(out, /^snoop\.js: denied: ERR_ACCESS_DENIED FileSystemRead \S*\/07-sandbox\/secrets\/api-key\.txt$/m);
      expectLine(out, /^vandal\.js: denied: ERR_ACCESS_DENIED FileSystemWrite \S*\/07-sandbox\/hacked\.txt$/m);
      expectChildPid(out, /^host pid (\d+)/m, /^word-count\.js: 14 words \(child pid (\d+)\)$/m);
      expectLine(out, /^environment a plugin sees: \[\]$/m);
      expectLine(out, /^host still serving: word-count\.js: 14 words$/m);
      expectLine(out, /^hacked\.txt exists: no$/m);
    },
  },
  {
    dir: '08-cluster',
    check(out) {
      const caller = Number(expectLine(out, /^caller pid (\d+) on \S+$/m)[1]);
      const redis = Number(expectLine(out, /^redis-server \S+ \(pid (\d+)\) on \S+\/redis\.sock$/m)[1]);
      expectLine(out, /^deployed cluster-example-1\.0\.0\.tgz to 2 folders in [\d.]+ s$/m);
      const workers = {};
      for (const name of ['A', 'B']) {
        const [, pid, folder] = expectLine(
          out,
          new RegExp(
            `^worker ${name} \\(pid (\\d+)\\) in (\\S+): run-in-process worker ready: pool render, 3 targets from 1 module \\(queue render@example-1, worker [^ )]+\\)$`,
            'm',
          ),
        );
        if (folder.startsWith(here))
          throw new Error(`worker ${name} runs from the example's folder, not a deployed copy`);
        workers[name] = { pid: Number(pid), folder };
      }
      if (workers.A.folder === workers.B.folder) throw new Error('both workers run from the same folder');
      if (new Set([caller, workers.A.pid, workers.B.pid]).size !== 3) throw new Error('a worker is the caller');
      expectLine(out, /^24 render calls at once: 24 correct \(checked inline\), in [\d.]+ s$/m);
      let total = 0;
      for (const name of ['A', 'B']) {
        const served = Number(
          expectLine(
            out,
            new RegExp(`^worker ${name} \\(pid ${workers[name].pid}\\) served (\\d+) calls, in [12] children$`, 'm'),
          )[1],
        );
        if (served === 0) throw new Error(`worker ${name} served no call`);
        total += served;
      }
      if (total !== 24) throw new Error(`the workers served ${total} calls, not 24`);
      expectLine(out, /^both workers served calls: yes$/m);
      const host = expectLine(
        out,
        /^crash -> ProcessCrashedError on host (\S+), worker [AB], signal SIGKILL, target Renderer\.crash$/m,
      )[1];
      if (host !== hostname()) throw new Error(`the crash names host ${host}, not ${hostname()}`);
      const [, a, b] = expectLine(out, /^after the crash: 8\/8 correct, served by A (\d+), B (\d+)$/m);
      if (Number(a) + Number(b) !== 8) throw new Error('after the crash, the workers did not serve the 8 calls');
      expectLine(out, /^workers still running: yes$/m);
      expectLine(out, /^renderScene -> SceneError "tile 7: the scene does not parse" \(tile 7\), cause SyntaxError$/m);
      expectLine(out, /^worker A exited: code 0, worker B exited: code 0$/m);
      expectLine(out, /^all processes reaped: yes$/m);
      const left = [redis, workers.A.pid, workers.B.pid].filter(alive);
      if (left.length > 0) throw new Error(`still running after the example: ${left.join(' ')}`);
      // Without redis-server on the PATH, it says what to install and exits non-zero.
      const missing = spawnSync(process.execPath, ['build/main.js'], {
        cwd: join(here, '08-cluster'),
        env: { ...env, PATH: '' },
        encoding: 'utf8',
      });
      if (
        missing.status === 0 ||
        !/redis-server is not on the PATH[\s\S]*apt-get install redis-server/.test(missing.stderr)
      )
        throw new Error(`without redis-server: exit ${missing.status}, printed ${missing.stderr}`);
    },
  },
];

// Variables npm sets for a script (when run from `npm test`) would steer the nested npm runs.
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_|INIT_CWD$)/i.test(name)));

/** Runs npm in `cwd`; returns its combined output, or throws saying what went wrong. */
function npm(args, cwd, timeout) {
  const result = spawnSync('npm', args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error?.code === 'ETIMEDOUT') {
    throw Object.assign(
      new Error(`npm ${args.join(' ')} did not finish within ${timeout / 1000} s (something kept the process alive?)`),
      { output },
    );
  }
  if (result.error) throw Object.assign(result.error, { output });
  if (result.status !== 0) {
    throw Object.assign(new Error(`npm ${args.join(' ')} exited with ${result.status ?? result.signal}`), { output });
  }
  return output;
}

if (!existsSync(join(here, '..', 'dist', 'index.js'))) {
  console.error('run-all: dist/index.js is missing: run `npm run build` at the repository root first');
  process.exit(1);
}

const filters = process.argv.slice(2);
const selected = examples.filter(({ dir }) => filters.length === 0 || filters.some((f) => dir.includes(f)));
let passed = 0;
let failed = 0;
for (const { dir, check } of selected) {
  const cwd = join(here, dir);
  const started = Date.now();
  let output = '';
  try {
    npm(['install', '--no-audit', '--no-fund'], cwd, INSTALL_TIMEOUT_MS);
    output = npm(['start'], cwd, START_TIMEOUT_MS);
    check(output);
    passed++;
    console.log(`ok ${dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${dir}: ${error.message}`);
    console.log(`--- output of ${dir} ---\n${(error.output ?? output).trimEnd()}\n--- end of output ---`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
