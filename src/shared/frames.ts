import { serialize } from 'node:v8';

/**
 * A pipe between a parent and its child carries frames: a little-endian u32 length, then the body,
 * whose first byte is its kind (shared/notice-frames.ts, shared/control-frames.ts lay the bodies
 * out). Kind 0 is the same in both: `v8.serialize` of the whole message.
 */

/** The length and the kind byte. */
export const frameHead = 5;

/**
 * The start of a frame of `kind` with `size` bytes after the kind byte. `allocated`, when less than
 * `size`: only that much is made here, and the rest follows in a buffer of its own.
 */
export function startFrame(kind: number, size: number, allocated = size): Buffer {
  const out = Buffer.allocUnsafe(frameHead + allocated);
  out.writeUInt32LE(size + 1, 0);
  out[4] = kind;
  return out;
}

/** A message as `v8.serialize` writes it (kind 0), read back as Node's IPC would have delivered it. */
export function serializedFrame(message: unknown): Buffer[] {
  const body = serialize(message);
  return [startFrame(0, body.byteLength, 0), body];
}

/**
 * The frames in what a pipe delivers, in order, as the chunks come: a frame split across chunks is
 * joined; a large one is gathered into a buffer of its own, so that its bytes are copied once.
 * `onFrame` gets each frame's body (kind first).
 */
export class FrameReader {
  /** The start of a frame whose length or body has not all come yet: small, it is joined with what comes next. */
  #partial: Buffer | undefined;
  /** A large frame being gathered, how much of it has come, and its length. */
  #large: { body: Buffer; filled: number; length: number } | undefined;

  /**
   * `checkHead`, when given, sees each frame's kind and length as soon as they have come, before its
   * body: it throws for a frame that cannot be one, so that stray bytes (a line of text written on the
   * pipe) are refused at once, not waited on as the start of a frame of a gigabyte.
   */
  constructor(
    private readonly onFrame: (body: Buffer) => void,
    private readonly checkHead?: (kind: number, length: number) => void,
  ) {}

  /** Frames this large or larger are gathered into their own buffer rather than joined. */
  static readonly largeFrame = 64 * 1024;

  push(chunk: Buffer): void {
    let data = chunk;
    const large = this.#large;
    if (large) {
      const taken = Math.min(large.length - large.filled, data.byteLength);
      if (large.filled + taken > large.body.byteLength) large.body = grown(large, large.filled + taken);
      data.copy(large.body, large.filled, 0, taken);
      large.filled += taken;
      if (large.filled < large.length) return;
      this.#large = undefined;
      this.onFrame(large.body);
      data = data.subarray(taken);
    } else if (this.#partial) {
      data = Buffer.concat([this.#partial, data]);
      this.#partial = undefined;
    }
    let at = 0;
    while (data.byteLength - at >= frameHead) {
      const length = data.readUInt32LE(at);
      this.checkHead?.(data[at + 4]!, length);
      const available = data.byteLength - at - 4;
      if (available >= length) {
        this.onFrame(data.subarray(at + 4, at + 4 + length));
        at += 4 + length;
        continue;
      }
      if (length >= FrameReader.largeFrame) {
        // Up to 256 MiB at once (one copy of the payload); beyond, grown as it comes, so that a
        // length a child made up costs no more than that, or the bytes it actually sends.
        const body = Buffer.allocUnsafe(Math.max(available, Math.min(length, largestUpFront)));
        data.copy(body, 0, at + 4);
        this.#large = { body, filled: available, length };
        return;
      }
      break;
    }
    if (at < data.byteLength) this.#partial = data.subarray(at);
  }
}

const largestUpFront = 256 * 1024 * 1024;

/** A larger buffer for a frame being gathered, with what came so far: twice the size (or `needed`), at most its length. */
function grown({ body, filled, length }: { body: Buffer; filled: number; length: number }, needed: number): Buffer {
  const larger = Buffer.allocUnsafe(Math.max(needed, Math.min(length, body.byteLength * 2)));
  body.copy(larger, 0, 0, filled);
  return larger;
}

/** The first `limit` bytes of `buffers` (whole buffers, then the start of the one the limit falls in), or all of them. */
export function atMost(buffers: Buffer[], limit: number): Buffer[] {
  let total = 0;
  for (let index = 0; index < buffers.length; index++) {
    const length = buffers[index]!.byteLength;
    if (total + length > limit) {
      const head = buffers.slice(0, index);
      if (limit > total) head.push(buffers[index]!.subarray(0, limit - total));
      return head;
    }
    total += length;
  }
  return buffers;
}
