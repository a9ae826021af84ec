import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// The stderr lines a crashed or unbootable child's error shows (src/pool/local/stderr-tail.ts): the
// last twelve, and the line that names the error when a long report pushed it above them; never a
// line of something else the child printed.

const { keptStderr, stderrTail } =
  await internal<typeof import('../../build/lib/pool/local/stderr-tail.js')>('pool/local/stderr-tail.js');

/** The lines shown, without the heading and the `  | ` before each. */
const shown = (stderr: string): string[] =>
  stderrTail(stderr)
    .split('\n')
    .slice(2)
    .map((line) => line.slice(4));
const frames = (n: number, name = 'f') =>
  Array.from({ length: n }, (_, i) => `    at ${name} (file:///app/boot.mjs:${i + 1}:7)`);
const uncaught = (head: string[], stack: string[]) => [
  'file:///app/boot.mjs:3',
  '  throw new TypeError("deep boot failure");',
  '  ^',
  '',
  ...head,
  ...stack,
  '',
  'Node.js v20.20.2',
];

test('a short stderr is shown whole, with nothing added', () => {
  const lines = uncaught(['TypeError: deep boot failure'], frames(3));
  assert.deepEqual(shown(lines.join('\n')), lines.slice(-12));
  assert.equal(stderrTail(''), '');
  assert.equal(stderrTail('\n\n'), '');
});

test("a long stack: the error's name and message come first, then the last lines", () => {
  const lines = uncaught(['TypeError: deep boot failure'], frames(30));
  assert.deepEqual(shown(lines.join('\n')), ['TypeError: deep boot failure', '…', ...lines.slice(-12)]);
  const coded = uncaught(['Error [ERR_BAD_PORT]: port must be a number'], frames(30));
  assert.equal(shown(coded.join('\n'))[0], 'Error [ERR_BAD_PORT]: port must be a number');
  // A class whose name says nothing of an error is named all the same: the report's shape tells.
  const named = uncaught(['ConfigInvalid: port must be a number'], frames(30));
  assert.equal(shown(named.join('\n'))[0], 'ConfigInvalid: port must be a number');
});

test('a message of many lines: its first line comes first, not the last of its lines', () => {
  const details = Array.from({ length: 20 }, (_, i) => `detail ${i}`);
  const lines = uncaught(['TypeError: deep boot failure', ...details], frames(2));
  assert.deepEqual(shown(lines.join('\n')).slice(0, 3), ['TypeError: deep boot failure', '…', 'detail 12']);
});

test("an out-of-memory: V8's line that names the failure comes before its native frames", () => {
  const lines = [
    '<--- Last few GCs --->',
    '',
    '[12240:0x40f7be20]      128 ms: Mark-Compact 11.2 (25.7) -> 10.6 (27.5) MB',
    '',
    '<--- JS stacktrace --->',
    '',
    'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    '----- Native stack trace -----',
    '',
    ...Array.from(
      { length: 16 },
      (_, i) => `${String(i + 1).padStart(2)}: 0x${(0xb78db3 + i).toString(16)} v8::fn${i} [node]`,
    ),
  ];
  assert.deepEqual(shown(lines.join('\n')).slice(0, 3), [
    'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    '…',
    ' 5: 0xb78db7 v8::fn4 [node]',
  ]);
});

test("a failed assertion of Node's or V8's: the first line of its # block comes before its native frames", () => {
  const lines = [
    '',
    '#',
    '# Fatal error in , line 0',
    '# Check failed: !path_prefix.empty().',
    '#',
    '----- Native stack trace -----',
    '',
    ...Array.from(
      { length: 14 },
      (_, i) => `${String(i + 1).padStart(2)}: 0x${(0x1000 + i).toString(16)} node::fn${i} [node]`,
    ),
  ];
  assert.deepEqual(shown(lines.join('\n')).slice(0, 2), ['# Fatal error in , line 0', '…']);
});

test('an earlier line the program printed is never taken for the error', () => {
  // A handled error logged first, then the one that ended the child, its header in the tail's block.
  const logged = ['Error: config: optional file ./local.json not found, using defaults'];
  const lines = [...logged, ...uncaught(['ConfigInvalid: port must be a number'], frames(30))];
  assert.equal(shown(lines.join('\n'))[0], 'ConfigInvalid: port must be a number');
  // A report logged and handled, then lines printed after it: the tail begins outside the report.
  const handled = [
    'SyntaxError: Expected property name',
    ...frames(3, 'parse'),
    ...Array.from({ length: 20 }, (_, i) => `progress ${i}`),
  ];
  assert.deepEqual(shown(handled.join('\n')), handled.slice(-12));
  // Output with no report in it: the last lines alone, even with an error-like line above them.
  const printed = ['Error count: 3', ...Array.from({ length: 20 }, (_, i) => `processed item ${i}`)];
  assert.deepEqual(shown(printed.join('\n')), printed.slice(-12));
  // A report whose header is already in the tail: nothing added.
  const whole = uncaught(['TypeError: deep boot failure'], frames(8));
  assert.deepEqual(shown(whole.join('\n')), whole.slice(-12));
});

test("what is kept of a child's stderr is cut at a line's start, and a last line longer than it keeps its end", () => {
  const limit = 20;
  assert.equal(keptStderr('short\n', 'lines\n', limit), 'short\nlines\n');
  // Cut where a line starts, never in one: 'first line\n' goes whole.
  assert.equal(keptStderr('first line\nsecond\n', 'third line\n', limit), 'second\nthird line\n');
  // A line of exactly the limit, after a line break: kept whole.
  const exact = '0123456789012345678\n';
  assert.equal(keptStderr('abc\n', exact, limit), exact);
  // One line longer than the limit: its end, not nothing.
  const long = 'x'.repeat(50);
  assert.equal(keptStderr('before\n', `${long}\n`, limit), `${long}\n`.slice(-limit));
});
