// A quiet reporter for node:test (`node --test --test-reporter=./scripts/test-reporter.mjs …`).
//
// One line per test file once it is done; every failure in full (its name, the error and stack,
// and what that file printed to stdout and stderr); skipped tests by name; and at the end the run's
// counts, as the TAP reporter prints them (`# pass N`, `# fail N`, `# skipped N`…), which
// scripts/test.mjs adds up across its phases.
//
// What a test file prints to stderr or stdout is expected noise when its tests pass: a crash
// fixture's stderr, which tinypool pipes into the parent's, or a warning a test provokes. It is
// shown only for a file with a failure, and otherwise only counted.
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';

const cwd = process.cwd();

function fileLabel(file) {
  return file ? relative(cwd, file) : '(no file)';
}

function newFile(file) {
  return { file, passed: 0, failed: 0, skipped: 0, todo: 0, output: [], failures: [], skips: [], ms: 0 };
}

/** The error of a failed test, as a few indented lines: a failed assertion's message and stack. */
function describeError(error) {
  // node:test wraps what the test threw in an ERR_TEST_FAILURE whose cause is the real error.
  const thrown = error?.code === 'ERR_TEST_FAILURE' && error.cause !== undefined ? error.cause : error;
  const text = thrown instanceof Error ? (thrown.stack ?? String(thrown)) : inspect(thrown, { depth: 4 });
  // Frames of node:test itself and of Node's internals say nothing about the failure.
  const lines = text.split('\n').filter((line) => !/^\s+at (.*\()?(node:|<anonymous>\)?$)/.test(line));
  if (thrown && typeof thrown === 'object' && 'actual' in thrown && 'expected' in thrown && !/^\s*[+-] /m.test(text)) {
    lines.push(
      `actual: ${inspect(thrown.actual, { depth: 4 })}`,
      `expected: ${inspect(thrown.expected, { depth: 4 })}`,
    );
  }
  if (error?.failureType && error.failureType !== 'testCodeFailure') lines.unshift(`(${error.failureType})`);
  return lines.map((line) => `      ${line}`);
}

function* flush(state) {
  const seconds = (state.ms / 1000).toFixed(1);
  const counts = [`${state.passed} passed`];
  if (state.failed) counts.push(`${state.failed} failed`);
  if (state.skipped) counts.push(`${state.skipped} skipped`);
  if (state.todo) counts.push(`${state.todo} todo`);
  const lines = state.output.length;
  const hidden = state.failed === 0 && lines > 0 ? `; ${lines} ${lines === 1 ? 'line' : 'lines'} of output hidden` : '';
  yield `${state.failed ? '✖' : '✔'} ${fileLabel(state.file)}: ${counts.join(', ')} (${seconds} s${hidden})\n`;
  for (const skip of state.skips) yield `    - skipped: ${skip}\n`;
  for (const failure of state.failures) yield `${failure}\n`;
  if (state.failed && state.output.length > 0) {
    yield `    --- what ${fileLabel(state.file)} printed ---\n`;
    for (const line of state.output) yield `    | ${line}\n`;
    yield '    --- end ---\n';
  }
}

export default async function* quietReporter(source) {
  const files = new Map(); // file → its state, for output that arrives after the file's tests
  let current; // the file whose tests run now
  const names = []; // the names of the tests now running, by nesting: for the full name of a failure
  const summary = [];
  const stateOf = (file) => {
    if (!files.has(file)) files.set(file, newFile(file));
    return files.get(file);
  };
  for await (const event of source) {
    const { type, data } = event;
    // Node 22 and 24 name a file by its absolute path in some events and by its path as given in others.
    const file =
      typeof data?.file === 'string'
        ? resolve(data.file.startsWith('file:') ? fileURLToPath(data.file) : data.file)
        : undefined;
    if (file && current?.file !== file && (type === 'test:start' || type === 'test:pass' || type === 'test:fail')) {
      // Files run one at a time (--test-concurrency=1): a test of another file means the last one is done.
      if (current) {
        yield* flush(current);
        current.flushed = true;
      }
      current = stateOf(file);
    }
    switch (type) {
      case 'test:start':
        names[data.nesting] = data.name;
        names.length = data.nesting + 1;
        break;
      case 'test:stderr':
      case 'test:stdout': {
        const state = file ? stateOf(file) : (current ??= newFile(undefined));
        const lines = String(data.message).replace(/\n$/, '').split('\n');
        state.output.push(...lines);
        // Its line is printed already: show what it prints late only if it failed.
        if (state.flushed && state.failed) for (const line of lines) yield `    | (${fileLabel(state.file)}) ${line}\n`;
        break;
      }
      case 'test:pass':
      case 'test:fail': {
        current ??= newFile(file);
        names[data.nesting] = data.name;
        if (data.nesting === 0) current.ms += data.details?.duration_ms ?? 0;
        const fullName = names.slice(0, data.nesting + 1).join(' > ');
        const isSuite = data.details?.type === 'suite';
        if (data.skip !== undefined && data.skip !== false) {
          if (!isSuite) current.skipped++;
          current.skips.push(`${fullName}${typeof data.skip === 'string' ? ` (${data.skip})` : ''}`);
        } else if (data.todo !== undefined && data.todo !== false) {
          if (!isSuite) current.todo++;
        } else if (type === 'test:pass') {
          if (!isSuite) current.passed++;
        } else if (!isSuite || data.details?.error?.failureType !== 'subtestsFailed') {
          // A suite that failed only because a test in it failed adds nothing to that test's report.
          current.failed++;
          const where = data.line ? `${fileLabel(file)}:${data.line}` : fileLabel(file);
          current.failures.push([`  ✖ ${fullName} (${where})`, ...describeError(data.details?.error)].join('\n'));
        }
        break;
      }
      case 'test:diagnostic':
        // The run's counts, once all files are done: `tests 102`, `pass 102`, `fail 0`…
        if (
          data.nesting === 0 &&
          !data.file &&
          /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) [\d.]+$/.test(data.message)
        ) {
          summary.push(data.message);
        } else if (data.nesting === 0 && !data.file) {
          yield `# ${data.message}\n`;
        }
        break;
      default:
        break;
    }
  }
  for (const state of files.values()) if (!state.flushed) yield* flush(state);
  for (const line of summary) yield `# ${line}\n`;
}
