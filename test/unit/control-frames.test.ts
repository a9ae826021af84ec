import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// The parent's batch control on a child's control pipe (src/shared/control-frames.ts): what the
// child reads must be the message the parent wrote, call by call and argument by argument, however
// the pipe cuts the frames.

type BatchControl = import('../../build/lib/protocol.js').BatchControl;
type CallTask = import('../../build/lib/protocol.js').CallTask;
const { encodeControl, decodeControl } =
  await internal<typeof import('../../build/lib/shared/control-frames.js')>('shared/control-frames.js');
const { FrameReader } = await internal<typeof import('../../build/lib/shared/frames.js')>('shared/frames.js');

const target = JSON.stringify({ kind: 'function', module: 'file:///tmp/ünïcode/m.js', id: 'f' });
const plain = (id: number, args: unknown[], notifyStart = false): CallTask => [
  'call',
  target,
  id,
  args,
  undefined,
  notifyStart,
];

const messages: BatchControl[] = [
  ['run-in-process:append', 7, [plain(1, [])]],
  [
    'run-in-process:append',
    2 ** 40,
    [plain(2 ** 53 - 1, [1.5, -0, Number.NaN, 'a\ud800b', '', true, false, null, undefined], true)],
  ],
  ['run-in-process:append', 8, [plain(3, [1]), plain(4, ['x'.repeat(100_000)]), plain(5, [null])]],
  // Not of the common shape: as a whole v8.serialize.
  ['run-in-process:append', 9, [plain(6, [10n])]],
  ['run-in-process:append', 9, [plain(7, [{ a: 1 }])]],
  ['run-in-process:append', 9, [['call', target, 8, [new Uint8Array([1, 2])], [0], false]]],
  ['run-in-process:append', 9, [['call', target, 9, new Uint8Array([3]), undefined, false]]],
  ['run-in-process:append', 9, [['call', target, 10, [1], undefined, false, { traceparent: 'x' }]]],
  ['run-in-process:append', 9, [['call', target, 11, [1], undefined, false, undefined, 16]]],
  ['run-in-process:close', 12],
  ['run-in-process:steer', 13, 14, ['credit', 8]],
  ['run-in-process:steer', 13, 14, ['stop']],
];

/** Exact: -0, NaN, lone surrogates, undefined, typed arrays by type and bytes. */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) {
    // A call's absent optional slots and trailing undefined ones are the same call.
    const copy = [...value];
    while (copy.length > 6 && copy[copy.length - 1] === undefined) copy.pop();
    return copy.map(comparable);
  }
  if (ArrayBuffer.isView(value))
    return `${value.constructor.name}(${[...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)].join()})`;
  if (typeof value === 'string') return `string(${[...value].map((c) => c.charCodeAt(0)).join()})`;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : `number(${value})`;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, comparable(field)]));
  return `${typeof value}(${String(value)})`;
}

test('every control message reads back as it was written, whole or cut into chunks of any size', () => {
  const all = Buffer.concat(messages.flatMap((message) => encodeControl(message)));
  for (const size of [1, 3, 13, 4096, 65_536, all.byteLength]) {
    const read: unknown[] = [];
    const reader = new FrameReader((body) => read.push(decodeControl(body)));
    for (let at = 0; at < all.byteLength; at += size) reader.push(all.subarray(at, at + size));
    assert.equal(read.length, messages.length, `chunks of ${size}`);
    for (let i = 0; i < messages.length; i++)
      assert.deepEqual(comparable(read[i]), comparable(messages[i]), `message ${i} in chunks of ${size}`);
  }
});

test('an append of the common shape is laid out by hand, not serialized by v8, which every other goes through', () => {
  const kind = (message: BatchControl) => encodeControl(message)[0]![4];
  assert.equal(kind(messages[1]!), 1);
  assert.equal(kind(messages[2]!), 1);
  for (const message of messages.slice(3, 9)) assert.equal(kind(message), 0, JSON.stringify(comparable(message)));
});
