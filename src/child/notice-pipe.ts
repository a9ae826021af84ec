import { writevSync } from 'node:fs';
import { encodeThrown } from '../codec/thrown-encode.js';
import { type ChildNotice, untoldFatalExitCode } from '../protocol.js';
import { atMost } from '../shared/frames.js';
import { encodeNotice } from '../shared/notice-frames.js';
import { noticeFd } from './pipes.js';
import { setTimeout } from '../shared/real-clock.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Why the pipe can no longer be written, once it cannot. */
let lost: Error | undefined;

/**
 * Sends a notice now: on this child's notice pipe when the parent gave it one (shared/notice-frames.ts
 * says why), else on the IPC channel. On the pipe, written before this returns, as one write when the pipe takes it
 * (it blocks while the parent's side is full, as the child's stdout does): an answer is in the
 * kernel's buffer before the next call starts, and survives this child's crash.
 */
export function sendNotice(notice: ChildNotice): void {
  if (noticeFd === undefined) {
    process.send?.(notice);
    return;
  }
  if (lost) throw lost;
  let buffers = encodeNotice(notice);
  for (;;) {
    let written: number;
    try {
      written = writevSync(noticeFd, atMost(buffers, maxWrite));
    } catch (error) {
      // A descriptor made non-blocking after all: wait a little for the parent to read.
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(sleeper, 0, 0, 1);
        continue;
      }
      throw pipeLost(error);
    }
    buffers = rest(buffers, written);
    if (buffers.length === 0) return;
  }
}

/**
 * The most one write asks for. Node 20's `writevSync` fails with a made-up error code for 2 GiB or
 * more (a 2.1 GiB answer broke the pipe), and Linux writes at most ~2 GiB at once anyway.
 */
const maxWrite = 1 << 30;

/** What is left to write once `written` bytes of `buffers` are. */
function rest(buffers: Buffer[], written: number): Buffer[] {
  let left = written;
  let index = 0;
  while (index < buffers.length && left >= buffers[index]!.byteLength) left -= buffers[index++]!.byteLength;
  if (index === buffers.length) return [];
  return [buffers[index]!.subarray(left), ...buffers.slice(index + 1)];
}

/** The pipe failed: this child is on its way out (its calls then wait for the exit rather than fail another way). */
export function isPipeLost(error: unknown): boolean {
  return lost !== undefined && error === lost;
}

/**
 * The pipe cannot be written (code in this child closed its descriptor, or the parent is gone):
 * nothing this child runs can be answered any more. Said on the IPC channel, then it exits, so
 * that its calls fail with this reason rather than wait.
 */
function pipeLost(error: unknown): Error {
  lost = new Error(
    `run-in-process: this child can no longer write its answers to the parent: its notice pipe (fd ${noticeFd}) ` +
      `failed (${(error as Error)?.message ?? String(error)}). Code in the child must not close or reuse that descriptor.`,
  );
  const exit = () => process.exit(untoldFatalExitCode);
  setTimeout(exit, 1_000).unref();
  try {
    process.send?.(['run-in-process:fatal', encodeThrown(lost), null] satisfies ChildNotice, exit) ?? exit();
  } catch {
    exit();
  }
  return lost;
}
