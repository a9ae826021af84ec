#!/usr/bin/env node
// `npm test` (after its "pretest" build): runs every test phase, even after one fails, and ends
// with one line that sums them all, `N passed, N failed` (`, N skipped` when some were), alone on
// the last line. Exits 1 if any phase failed.
//
// The phases are the package.json scripts below; a script made of `a && b` runs as steps a and b.
// A step is counted by what it prints: node:test's `# pass N` / `# fail N` / `# skipped N` lines
// (all of them, so the suite on each Node line adds up), or a final `N passed, N failed` line
// (examples/run-all.mjs, test/packaging/smoke.mjs). A step that prints neither (publint, attw) is
// one test, passed if it exits with 0. A step that exits non-zero without reporting a failure
// counts as one failure.
//
// A failure's report is printed where it happens and again, cut to its first lines, at the end: a
// CI log that keeps only its tail still names what failed.
//
// Usage: node scripts/test.mjs [--verbose] [phase …]   e.g. `node scripts/test.mjs suite examples`
//   --verbose  also prints what is hidden by default: each passing packaging check, and the
//              output of publint and attw when they pass.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const phases = ['lint', 'suite', 'examples', 'package', 'node-lines'];
/** Steps whose output is shown only when they fail: they print no counts, only their own report. */
const quietWhenPassing = /^(publint|attw)\b/;

const args = process.argv.slice(2);
const verbose = args.includes('--verbose');
const selected = args.filter((arg) => arg !== '--verbose');
for (const name of selected) {
  if (!phases.includes(name)) {
    console.error(`test.mjs: unknown phase "${name}"; the phases are ${phases.join(', ')}`);
    process.exit(2);
  }
}
const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts;
const env = { ...process.env, PATH: [join(root, 'node_modules', '.bin'), process.env.PATH].join(delimiter) };

/** Runs one step through the shell, as npm would; streams its output (less the noise) and returns its counts. */
function runStep(command) {
  return new Promise((resolve) => {
    const buffered = quietWhenPassing.test(command) && !verbose;
    const child = spawn('sh', ['-c', command], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [];
    const partial = { stdout: '', stderr: '' };
    const take = (stream) => (chunk) => {
      const complete = (partial[stream] + chunk).split('\n');
      partial[stream] = complete.pop() ?? '';
      for (const line of complete) show(line);
    };
    let inPassingCheck = false;
    const show = (line) => {
      lines.push(line);
      // A passing check of the packaging smoke test, and its indented notes: counted in its
      // summary, shown with --verbose.
      if (!verbose && /^ok - /.test(line)) inPassingCheck = true;
      else if (!/^\s+# /.test(line)) inPassingCheck = false;
      if (buffered || inPassingCheck) return;
      process.stdout.write(`${line}\n`);
    };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', take('stdout'));
    child.stderr.on('data', take('stderr'));
    child.on('error', (error) => show(`could not run ${command}: ${error.message}`));
    child.on('close', (code, signal) => {
      for (const rest of Object.values(partial)) if (rest) show(rest);
      const counts = countsOf(lines);
      const ok = code === 0;
      // A step that passed has nothing to recap (a line of its own output that looks like a report says nothing).
      if (!ok || (counts?.failed ?? 0) > 0) recap.push(...failuresIn(lines));
      if (counts === undefined) {
        // Nothing counted: the step is one test.
        if (ok) console.log(`ok - ${command}`);
        else {
          if (buffered) for (const line of lines) console.log(line);
          const line = `not ok - ${command} exited with ${code ?? signal}`;
          console.log(line);
          recap.push([line]);
        }
        resolve({ passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0, ok });
        return;
      }
      if (!ok && counts.failed === 0) {
        const line = `not ok - ${command} exited with ${code ?? signal} without reporting a failed test`;
        console.log(line);
        recap.push([line]);
        counts.failed = 1;
      }
      resolve({ ...counts, ok });
    });
  });
}

/** Lines that begin a failure's report: scripts/test-reporter.mjs's `  ✖ name`, and `not ok`. */
const failureStart = /^\s*(✖ |not ok\b)/;
/** How many lines of each failure's report the recap at the end repeats. */
const recapLines = 8;

/**
 * The start of each failure's report in a step's output: its first line, with the Node line it
 * ran on (scripts/test-node-lines.sh prints `== Node vN` before each), and the indented lines after it.
 */
function failuresIn(lines) {
  const failures = [];
  let node = process.version;
  for (let i = 0; i < lines.length; i++) {
    node = /^== Node (v\S+)/.exec(lines[i])?.[1] ?? node;
    // A file's line (`✖ build/test/…: 1 passed, 1 failed`) is not a report: its tests' lines are.
    if (!failureStart.test(lines[i]) || /^✖ \S+: \d+ passed/.test(lines[i])) continue;
    const report = [`${lines[i]} [Node ${node}]`];
    for (let j = i + 1; j < lines.length && report.length < recapLines && /^\s{4,}/.test(lines[j]); j++) {
      report.push(lines[j]);
    }
    failures.push(report);
  }
  return failures;
}

/** The counts a step printed, or undefined if it printed none. */
function countsOf(lines) {
  let found = false;
  const counts = { passed: 0, failed: 0, skipped: 0 };
  // node:test (the TAP reporter and scripts/test-reporter.mjs): one set of lines per run.
  for (const line of lines) {
    const match = /^# (pass|fail|cancelled|skipped) (\d+)$/.exec(line);
    if (!match) continue;
    found = true;
    const n = Number(match[2]);
    if (match[1] === 'pass') counts.passed += n;
    else if (match[1] === 'skipped') counts.skipped += n;
    else counts.failed += n;
  }
  if (found) return counts;
  // examples/run-all.mjs and test/packaging/smoke.mjs: their last such line.
  for (const line of [...lines].reverse()) {
    const match = /^(\d+) passed, (\d+) failed$/.exec(line);
    if (match) return { passed: Number(match[1]), failed: Number(match[2]), skipped: 0 };
  }
  return undefined;
}

const total = { passed: 0, failed: 0, skipped: 0 };
/** Each failure's first lines, for the recap at the end. */
const recap = [];
const failedPhases = [];
for (const phase of selected.length > 0 ? phases.filter((name) => selected.includes(name)) : phases) {
  const script = scripts[`test:${phase}`];
  if (typeof script !== 'string') {
    console.log(`not ok - there is no "test:${phase}" script in package.json`);
    total.failed++;
    failedPhases.push(phase);
    continue;
  }
  console.log(`\n== ${phase}: ${script}`);
  let phaseOk = true;
  for (const command of script.split(' && ')) {
    const result = await runStep(command.trim());
    total.passed += result.passed;
    total.failed += result.failed;
    total.skipped += result.skipped;
    if (!result.ok || result.failed > 0) phaseOk = false;
  }
  if (!phaseOk) failedPhases.push(phase);
}

console.log('');
if (recap.length > 0) {
  console.log(`what failed (each in full above, where it ran):`);
  for (const report of recap) console.log(report.join('\n'));
  console.log('');
}
if (failedPhases.length > 0) console.log(`failed phases: ${failedPhases.join(', ')}`);
console.log(`${total.passed} passed, ${total.failed} failed${total.skipped > 0 ? `, ${total.skipped} skipped` : ''}`);
process.exitCode = failedPhases.length > 0 || total.failed > 0 ? 1 : 0;
