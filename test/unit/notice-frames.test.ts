import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// A child's notices on its notice pipe (src/shared/notice-frames.ts): the frames the child writes
// must read back as the notice it meant, however the pipe cuts them into chunks, and a frame that
// is not one of ours must be refused, never misread.

type ChildNotice = import('../../build/lib/protocol.js').ChildNotice;
const { encodeNotice, decodeNotice, checkNoticeHead } =
  await internal<typeof import('../../build/lib/shared/notice-frames.js')>('shared/notice-frames.js');
const { FrameReader } = await internal<typeof import('../../build/lib/shared/frames.js')>('shared/frames.js');

const lone = 'a\ud800b';
const notices: ChildNotice[] = [
  ['run-in-process:answer', 1, 2, ['as-is', 42, false]],
  ['run-in-process:answer', 2 ** 40, 2 ** 53 - 1, ['as-is', -0, false]],
  ['run-in-process:answer', 1, 2, ['as-is', Number.NaN, false]],
  ['run-in-process:answer', 1, 2, ['as-is', '', false]],
  ['run-in-process:answer', 1, 2, ['as-is', `héllo ${lone}`, false]],
  ['run-in-process:answer', 1, 2, ['as-is', 'x'.repeat(10_000), false]],
  ['run-in-process:answer', 1, 2, ['as-is', `${'é'.repeat(5_000)}${lone}\udc00`, false]],
  ['run-in-process:answer', 1, 2, ['as-is', undefined, false]],
  ['run-in-process:answer', 1, 2, ['as-is', null, false]],
  ['run-in-process:answer', 1, 2, ['as-is', true, false]],
  ['run-in-process:answer', 1, 2, ['as-is', false, false]],
  ['run-in-process:answer', 1, 2, ['as-is', 10n, false]],
  ['run-in-process:answer', 1, 2, ['as-is', Buffer.from('bytes'), true]],
  ['run-in-process:answer', 1, 2, ['as-is', new Uint8Array(100_000).fill(7), false]],
  ['run-in-process:answer', 1, 2, ['as-is', new Float64Array([1.5, -0]), false]],
  ['run-in-process:answer', 1, 2, ['value', new Uint8Array([255, 15, 1])]],
  ['run-in-process:answer', 1, 2, ['thrown', ['value', new Uint8Array([1])], 'call']],
  ['run-in-process:started', 3, 4],
  ['run-in-process:opened', 5],
  ['run-in-process:ended', 6, true],
  ['run-in-process:ended', 6, false],
  ['run-in-process:retiring'],
  ['run-in-process:emit', 1, 2, ['items', [['as-is', 1, false]]]],
];

function frameOf(notice: ChildNotice): Buffer {
  return Buffer.concat(encodeNotice(notice));
}

/** What a reader makes of these bytes pushed in chunks of `size`. */
function readInChunks(bytes: Buffer, size: number): unknown[] {
  const read: unknown[] = [];
  const reader = new FrameReader((body) => read.push(decodeNotice(body)), checkNoticeHead);
  for (let at = 0; at < bytes.byteLength; at += size) reader.push(bytes.subarray(at, at + size));
  return read;
}

/** Typed arrays compared by type and contents (a Buffer as the Uint8Array the receiver re-wraps); -0, NaN, undefined and strings exactly. */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (ArrayBuffer.isView(value)) {
    const type = Buffer.isBuffer(value) ? 'Uint8Array' : value.constructor.name;
    return `${type}(${[...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)].join()})`;
  }
  if (typeof value === 'string') return `string(${[...value].map((c) => c.charCodeAt(0)).join()})`;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : `number(${value})`;
  return `${typeof value}(${String(value)})`;
}

test('every notice reads back as it was sent, whole or cut into chunks of any size', () => {
  const all = Buffer.concat(notices.map(frameOf));
  for (const size of [1, 2, 3, 7, 64, 4096, 65_536, all.byteLength]) {
    const read = readInChunks(all, size);
    assert.equal(read.length, notices.length, `chunks of ${size}`);
    for (let i = 0; i < notices.length; i++)
      assert.deepEqual(comparable(read[i]), comparable(notices[i]), `notice ${i} in chunks of ${size}`);
  }
});

test('a number answer keeps -0 and NaN, and a string keeps a lone surrogate', () => {
  const [negativeZero] = readInChunks(frameOf(['run-in-process:answer', 1, 2, ['as-is', -0, false]]), 5) as [
    [string, number, number, [string, number, boolean]],
  ];
  assert.ok(Object.is(negativeZero[3][1], -0));
  const [text] = readInChunks(frameOf(['run-in-process:answer', 1, 2, ['as-is', lone, false]]), 3) as [
    [string, number, number, [string, string, boolean]],
  ];
  assert.equal(text[3][1], lone);
});

test('a large frame is gathered into a buffer of its own, in which the bytes arrive once', () => {
  const payload = Buffer.alloc(3 * 1024 * 1024, 9);
  const [answer] = readInChunks(frameOf(['run-in-process:answer', 1, 2, ['as-is', payload, true]]), 65_536) as [
    [string, number, number, [string, Uint8Array, boolean]],
  ];
  const bytes = answer[3][1];
  assert.equal(bytes.byteLength, payload.byteLength);
  assert.ok(bytes.every((byte) => byte === 9));
  assert.ok(bytes.buffer.byteLength < payload.byteLength + 64, 'no buffer of joined chunks beside it');
});

test('a frame that is not one of ours is refused with what was wrong, not misread', () => {
  const frame = (...bytes: number[]) => {
    const out = Buffer.alloc(bytes.length);
    out.set(bytes);
    return out;
  };
  assert.throws(() => decodeNotice(frame(200)), /a frame of unknown kind 200/);
  assert.throws(() => decodeNotice(frame(1, 0, 0)), /a frame of kind 1 with 3 bytes/);
  assert.throws(() => decodeNotice(frame(3, ...new Array(16).fill(0), 9)), /an unknown constant 9/);
  assert.throws(() => decodeNotice(frame(8, ...new Array(8).fill(0), 2)), /a flag byte 2/);
  assert.throws(() => decodeNotice(frame(0, 1, 2, 3)));
});

test('stray bytes are refused from the head of what would be their frame, not waited on as one', () => {
  // Text a plugin writes on fd 4 by mistake: "plug" reads as a length of 1.7 GB; its fifth byte is no kind.
  const frames: Buffer[] = [];
  const reader = new FrameReader((body) => frames.push(body), checkNoticeHead);
  assert.throws(() => reader.push(Buffer.from('plugin loaded\n')), /a frame of unknown kind 105/);
  // A kind that has a fixed length, with another length: refused before its body comes.
  const started = Buffer.alloc(5);
  started.writeUInt32LE(1_000_000);
  started[4] = 6;
  assert.throws(() => new FrameReader(() => {}, checkNoticeHead).push(started), /a frame of kind 6 with 1000000 bytes/);
  // Cut anywhere, a real notice's head is checked once whole, and passes.
  assert.equal(readInChunks(frameOf(['run-in-process:started', 3, 4]), 1).length, 1);
  assert.deepEqual(frames, []);
});

test('a length a child made up costs no more memory up front than 256 MiB, and grows with what comes', () => {
  let frames = 0;
  const reader = new FrameReader(() => frames++);
  const before = process.memoryUsage().arrayBuffers;
  const head = Buffer.alloc(4 + 65_536);
  head.writeUInt32LE(0xffff_fff0);
  reader.push(head);
  reader.push(Buffer.alloc(65_536));
  const held = process.memoryUsage().arrayBuffers - before;
  assert.equal(frames, 0, 'no frame is complete');
  assert.ok(held < 257 * 1024 * 1024, `held ${held} bytes for a frame said to be 4 GiB`);
});

test('a long one-byte string answer crosses at one byte a character, not as UTF-16', () => {
  // Read back from UTF-16, Node makes a string of a megabyte or more an external two-byte string:
  // twice the memory of the one the child returned, for as long as the caller keeps it.
  const text = 'x'.repeat(1_000_000);
  const bytes = frameOf(['run-in-process:answer', 1, 2, ['as-is', text, false]]);
  assert.ok(bytes.byteLength < text.length * 1.1, `${bytes.byteLength} bytes for ${text.length} characters`);
  assert.deepEqual(readInChunks(bytes, 65_536), [['run-in-process:answer', 1, 2, ['as-is', text, false]]]);
});
