import { deserialize } from 'node:v8';
import type { ChildNotice } from '../protocol.js';
import { frameHead as head, serializedFrame, startFrame } from './frames.js';

/**
 * How a child's notices travel on its notice pipe: as frames, a little-endian u32 length then the
 * body, whose first byte says how the rest is laid out.
 *
 * Why not the IPC channel: Node's 'advanced' IPC makes a v8 serializer for every message in the
 * child and a deserializer in the parent, and that, not the pipe, is most of what a per-call answer
 * costs. Measured here (bench/analysis.md, seventh pass): raw fork with batches and one IPC message
 * per answer ran 120,000–170,000 calls/s; the same answers framed by hand on a pipe beside it
 * 190,000–300,000. Each answer is still its own write, made before the next call starts, so what a
 * crash costs does not change: an answer written is in the kernel's buffer, and the parent reads it
 * before it counts the child's calls lost (the ChildProcess's 'close' waits for this pipe too).
 *
 * The notices that make up nearly all the traffic (an answer that is a number, a string, a byte
 * array or one of undefined, null, true and false; started, opened, ended, retiring) have a layout of
 * their own; every other one is `v8.serialize` of the whole notice, which reads back as IPC would
 * have delivered it. Ids are written as float64: they are safe integers, which u32 would not hold.
 */

enum Kind {
  V8 = 0,
  AnswerNumber = 1,
  /** UTF-16 code units as they are: a string with a lone surrogate comes back the same. */
  AnswerString = 2,
  AnswerConstant = 3,
  /** `['value', bytes]`: a result serialized in the child. */
  AnswerSerialized = 4,
  /** `['as-is', bytes, buffer]` for a Buffer or a plain Uint8Array. */
  AnswerBytes = 5,
  Started = 6,
  Opened = 7,
  Ended = 8,
  Retiring = 9,
}

const constants = [undefined, null, false, true] as const;
/** Two float64 ids after the head. */
const ids = head + 16;

/** A notice as the buffers to write, in order (a large payload is not copied into the frame). */
export function encodeNotice(notice: ChildNotice): Buffer[] {
  switch (notice[0]) {
    case 'run-in-process:answer':
      return encodeAnswer(notice);
    case 'run-in-process:started':
      return [frame(Kind.Started, 16, notice[1], notice[2])];
    case 'run-in-process:opened':
      return [frame(Kind.Opened, 8, notice[1])];
    case 'run-in-process:ended': {
      const out = frame(Kind.Ended, 9, notice[1]);
      out[head + 8] = notice[2] ? 1 : 0;
      return [out];
    }
    case 'run-in-process:retiring':
      return [frame(Kind.Retiring, 0)];
    default:
      return serializedFrame(notice);
  }
}

function encodeAnswer(notice: Extract<ChildNotice, [tag: 'run-in-process:answer', ...unknown[]]>): Buffer[] {
  const [, batch, call, answer] = notice;
  if (answer[0] === 'value') return bytesFrame(Kind.AnswerSerialized, batch, call, answer[1], undefined);
  if (answer[0] !== 'as-is') return serializedFrame(notice);
  const value = answer[1];
  switch (typeof value) {
    case 'number': {
      const out = frame(Kind.AnswerNumber, 24, batch, call);
      out.writeDoubleLE(value, ids);
      return [out];
    }
    case 'string': {
      // Short: one copy into the frame. Long: v8's serializer, which writes a one-byte string as one
      // byte a character, and reads it back as one; as UTF-16 it would take twice the bytes on the
      // pipe, and Node makes a string of a megabyte or more read from UTF-16 an external two-byte
      // string, twice the memory of the one the child returned, for as long as the caller keeps it.
      if (value.length < 2048) {
        const out = frame(Kind.AnswerString, 16 + value.length * 2, batch, call);
        out.write(value, ids, 'utf16le');
        return [out];
      }
      return serializedFrame(notice);
    }
    case 'undefined':
    case 'boolean':
    case 'object': {
      const index = constants.indexOf(value as (typeof constants)[number]);
      if (index < 0) break;
      const out = frame(Kind.AnswerConstant, 17, batch, call);
      out[ids] = index;
      return [out];
    }
  }
  if (value instanceof Uint8Array) {
    const proto = Object.getPrototypeOf(value);
    if (proto === Buffer.prototype || proto === Uint8Array.prototype)
      return bytesFrame(Kind.AnswerBytes, batch, call, value, answer[2]);
  }
  return serializedFrame(notice);
}

/**
 * A frame for `kind` with `size` bytes after the kind, and the ids written first. `allocated`, when
 * less than `size`: only the start is made here, and the rest follows in a buffer of its own.
 */
function frame(kind: Kind, size: number, first?: number, second?: number, allocated = size): Buffer {
  const out = startFrame(kind, size, allocated);
  if (first !== undefined) out.writeDoubleLE(first, head);
  if (second !== undefined) out.writeDoubleLE(second, head + 8);
  return out;
}

/** Bytes that follow the ids; `buffer` (a flag byte) only for an as-is answer. Small ones are copied in. */
function bytesFrame(kind: Kind, batch: number, call: number, bytes: Uint8Array, buffer: boolean | undefined): Buffer[] {
  const extra = buffer === undefined ? 0 : 1;
  const fixed = 16 + extra;
  const small = bytes.byteLength < 4096;
  const out = frame(kind, fixed + bytes.byteLength, batch, call, small ? fixed + bytes.byteLength : fixed);
  if (buffer !== undefined) out[ids] = buffer ? 1 : 0;
  if (!small) return [out, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)];
  out.set(bytes, head + fixed);
  return [out];
}

/**
 * The notice a frame's body holds, as the child sent it (unchecked: the receiver validates it as it
 * would a message from the IPC channel). Throws for a body that is not one.
 */
export function decodeNotice(body: Buffer): unknown {
  const kind = body[0]!;
  checkNoticeHead(kind, body.byteLength);
  const id = (at: number) => body.readDoubleLE(at - 4);
  switch (kind) {
    case Kind.V8:
      return deserialize(body.subarray(1));
    case Kind.AnswerNumber:
      return ['run-in-process:answer', id(head), id(head + 8), ['as-is', id(ids), false]];
    case Kind.AnswerString:
      if ((body.byteLength - 17) % 2 !== 0) throw new Error('a string answer of odd length');
      return ['run-in-process:answer', id(head), id(head + 8), ['as-is', body.toString('utf16le', 17), false]];
    case Kind.AnswerConstant: {
      const index = body[17]!;
      if (index >= constants.length) throw new Error(`an unknown constant ${index}`);
      return ['run-in-process:answer', id(head), id(head + 8), ['as-is', constants[index], false]];
    }
    case Kind.AnswerSerialized:
      return ['run-in-process:answer', id(head), id(head + 8), ['value', view(body, 17)]];
    case Kind.AnswerBytes: {
      const buffer = body[17]!;
      if (buffer > 1) throw new Error(`a flag byte ${buffer}`);
      return ['run-in-process:answer', id(head), id(head + 8), ['as-is', view(body, 18), buffer === 1]];
    }
    case Kind.Started:
      return ['run-in-process:started', id(head), id(head + 8)];
    case Kind.Opened:
      return ['run-in-process:opened', id(head)];
    case Kind.Ended: {
      const slow = body[9]!;
      if (slow > 1) throw new Error(`a flag byte ${slow}`);
      return ['run-in-process:ended', id(head), slow === 1];
    }
    case Kind.Retiring:
      return ['run-in-process:retiring'];
    default:
      throw new Error(`a frame of unknown kind ${kind}`);
  }
}

/**
 * Each kind's body length, kind byte included: exactly this for a kind laid out at a fixed size
 * (`exact`), at least this for the others. The one place frame sizes are checked: decodeNotice
 * starts with checkNoticeHead.
 */
const lengths: Record<Kind, { exact?: number; least: number }> = {
  [Kind.V8]: { least: 1 },
  [Kind.AnswerNumber]: { exact: 25, least: 25 },
  [Kind.AnswerString]: { least: 17 },
  [Kind.AnswerConstant]: { exact: 18, least: 18 },
  [Kind.AnswerSerialized]: { least: 17 },
  [Kind.AnswerBytes]: { least: 18 },
  [Kind.Started]: { exact: 17, least: 17 },
  [Kind.Opened]: { exact: 9, least: 9 },
  [Kind.Ended]: { exact: 10, least: 10 },
  [Kind.Retiring]: { exact: 1, least: 1 },
};

/**
 * Refuses a frame from its head alone (FrameReader's `checkHead`, and decodeNotice): an unknown
 * kind, or a length its kind cannot have. Text written on the notice pipe by mistake ends there, at
 * its fifth byte.
 */
export function checkNoticeHead(kind: number, length: number): void {
  const expected = lengths[kind as Kind] as (typeof lengths)[Kind] | undefined;
  if (expected === undefined) throw new Error(`a frame of unknown kind ${kind}`);
  if (length < expected.least || (expected.exact !== undefined && length !== expected.exact))
    throw new Error(`a frame of kind ${kind} with ${length} bytes`);
}

/** A plain Uint8Array over the body's bytes from `at`: no copy, as IPC's deserializer gives a view too. */
function view(body: Buffer, at: number): Uint8Array {
  return new Uint8Array(body.buffer, body.byteOffset + at, body.byteLength - at);
}
