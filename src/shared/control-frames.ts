import { deserialize } from 'node:v8';
import type { BatchControl, CallTask } from '../protocol.js';
import { frameHead as head, serializedFrame, startFrame } from './frames.js';

/**
 * How the parent's batch control travels on a child's control pipe: frames (shared/frames.ts)
 * whose body starts with a kind byte. The control pipe exists for the reason the notice pipe does
 * (shared/notice-frames.ts): Node's 'advanced' IPC makes a v8 serializer for every message in the
 * parent and a deserializer in the child, which was most of what sending one call to an open batch
 * cost. Nearly all control is a call appended to an open batch whose arguments are numbers, strings,
 * booleans, null or undefined, with no `this`: such an append has a layout of its own; so do close
 * and steer. Anything else is `v8.serialize` of the whole message, read back as IPC would have.
 */

enum Kind {
  V8 = 0,
  /** Calls of the common shape (`plainCall`): per call its target, id, whether it says it started, its arguments. */
  Append = 1,
  Close = 2,
  Credit = 3,
  Stop = 4,
}

enum Arg {
  Number = 0,
  /** UTF-16 code units as they are (a lone surrogate crosses as it is). */
  String = 1,
  Undefined = 2,
  Null = 3,
  False = 4,
  True = 5,
}

/** A control message as the buffers to write, in order. */
export function encodeControl(message: BatchControl): Buffer[] {
  switch (message[0]) {
    case 'run-in-process:close': {
      const out = frame(Kind.Close, 8);
      out.writeDoubleLE(message[1], head);
      return [out];
    }
    case 'run-in-process:steer': {
      const steer = message[3];
      const out = frame(steer[0] === 'credit' ? Kind.Credit : Kind.Stop, steer[0] === 'credit' ? 24 : 16);
      out.writeDoubleLE(message[1], head);
      out.writeDoubleLE(message[2], head + 8);
      if (steer[0] === 'credit') out.writeDoubleLE(steer[1], head + 16);
      return [out];
    }
    case 'run-in-process:append':
      return message[2].every(plainCall) ? [appendFrame(message[1], message[2])] : serializedFrame(message);
  }
}

/**
 * A call with only the first six slots set (no trace carrier, stream window, callbacks or `this`),
 * no Buffers among its arguments, and arguments given as they are, each a number, a string, a
 * boolean, null or undefined.
 */
function plainCall(call: CallTask): boolean {
  if (call.length > 6 && call.slice(6).some((slot) => slot !== undefined)) return false;
  const input = call[3];
  if (!Array.isArray(input) || call[4] !== undefined) return false;
  for (const arg of input) {
    const type = typeof arg;
    if (type !== 'number' && type !== 'string' && type !== 'boolean' && type !== 'undefined' && arg !== null)
      return false;
  }
  return true;
}

function appendFrame(batch: number, calls: CallTask[]): Buffer {
  let size = 12;
  for (const call of calls) {
    size += 4 + Buffer.byteLength(call[1]) + 8 + 1 + 4;
    for (const arg of call[3] as unknown[])
      size += 1 + (typeof arg === 'number' ? 8 : typeof arg === 'string' ? 4 + arg.length * 2 : 0);
  }
  const out = frame(Kind.Append, size);
  let at = head;
  at = out.writeDoubleLE(batch, at);
  at = out.writeUInt32LE(calls.length, at);
  for (const call of calls) {
    const written = out.write(call[1], at + 4, 'utf8');
    out.writeUInt32LE(written, at);
    at += 4 + written;
    at = out.writeDoubleLE(call[2], at);
    out[at++] = call[5] ? 1 : 0;
    const args = call[3] as unknown[];
    at = out.writeUInt32LE(args.length, at);
    for (const arg of args) at = writeArg(out, at, arg);
  }
  return out;
}

function writeArg(out: Buffer, at: number, arg: unknown): number {
  switch (typeof arg) {
    case 'number':
      out[at] = Arg.Number;
      return out.writeDoubleLE(arg, at + 1);
    case 'string':
      out[at] = Arg.String;
      out.writeUInt32LE(arg.length * 2, at + 1);
      return at + 5 + out.write(arg, at + 5, 'utf16le');
    case 'undefined':
      out[at] = Arg.Undefined;
      return at + 1;
    case 'boolean':
      out[at] = arg ? Arg.True : Arg.False;
      return at + 1;
    default:
      out[at] = Arg.Null;
      return at + 1;
  }
}

const frame = (kind: Kind, size: number): Buffer => startFrame(kind, size);

/**
 * The control message a frame's body holds. The parent is trusted by its child: a frame it cannot
 * read is a bug of ours, and throws.
 */
export function decodeControl(body: Buffer): BatchControl {
  const at0 = 1;
  switch (body[0]) {
    case Kind.V8:
      return deserialize(body.subarray(1)) as BatchControl;
    case Kind.Close:
      return ['run-in-process:close', body.readDoubleLE(at0)];
    case Kind.Credit:
      return [
        'run-in-process:steer',
        body.readDoubleLE(at0),
        body.readDoubleLE(at0 + 8),
        ['credit', body.readDoubleLE(at0 + 16)],
      ];
    case Kind.Stop:
      return ['run-in-process:steer', body.readDoubleLE(at0), body.readDoubleLE(at0 + 8), ['stop']];
    case Kind.Append:
      return readAppend(body);
    default:
      throw new Error(`run-in-process: a control frame of unknown kind ${body[0]}`);
  }
}

function readAppend(body: Buffer): BatchControl {
  let at = 1;
  const batch = body.readDoubleLE(at);
  const count = body.readUInt32LE(at + 8);
  at += 12;
  const calls: CallTask[] = [];
  for (let i = 0; i < count; i++) {
    const targetLength = body.readUInt32LE(at);
    const target = body.toString('utf8', at + 4, at + 4 + targetLength);
    at += 4 + targetLength;
    const id = body.readDoubleLE(at);
    const notifyStart = body[at + 8] === 1;
    const argc = body.readUInt32LE(at + 9);
    at += 13;
    const args: unknown[] = new Array(argc);
    for (let j = 0; j < argc; j++) {
      const type = body[at++];
      if (type === Arg.Number) {
        args[j] = body.readDoubleLE(at);
        at += 8;
      } else if (type === Arg.String) {
        const length = body.readUInt32LE(at);
        args[j] = body.toString('utf16le', at + 4, at + 4 + length);
        at += 4 + length;
      } else args[j] = type === Arg.Null ? null : type === Arg.False ? false : type === Arg.True ? true : undefined;
    }
    calls.push(['call', target, id, args, undefined, notifyStart]);
  }
  return ['run-in-process:append', batch, calls];
}
