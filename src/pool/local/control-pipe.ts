import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { type BatchControl, controlPipeFd } from '../../protocol.js';
import { encodeControl } from '../../shared/control-frames.js';
import { ifClosedByLiveChild } from './closed-by-child.js';

/**
 * The parent's end of a child's control pipe (child-fork.ts gives the child one; the frames are
 * shared/control-frames.ts'), or undefined when the child has none. It does not hold the process,
 * and a write to a child that died is dropped: the failure of its batch says what was lost.
 */
export function controlPipeOf(child: ChildProcess, onBroken: (why: string) => void): Writable | undefined {
  const pipe = (child.stdio as unknown[])[controlPipeFd] as (Writable & { unref?: () => void }) | null | undefined;
  if (!pipe) return undefined;
  pipe.unref?.();
  // Its end of file read, or a write that failed with EPIPE.
  pipe.once('close', () =>
    ifClosedByLiveChild(child, () =>
      onBroken(
        `closed its control pipe (fd ${controlPipeFd}), on which the parent sends it calls; code in the child must not close that descriptor`,
      ),
    ),
  );
  pipe.on('error', () => {});
  return pipe;
}

/** Writes a control message in one go (one write when the pipe takes it); false when the pipe is closed. */
export function writeControl(pipe: Writable, message: BatchControl): boolean {
  if (pipe.destroyed || !pipe.writable) return false;
  const buffers = encodeControl(message);
  if (buffers.length === 1) pipe.write(buffers[0]);
  else {
    pipe.cork();
    for (const buffer of buffers) pipe.write(buffer);
    pipe.uncork();
  }
  return true;
}
