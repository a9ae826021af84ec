import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { messageOf } from '../../codec/describe-thrown.js';
import { type ChildNotice, noticePipeFd } from '../../protocol.js';
import { FrameReader } from '../../shared/frames.js';
import { checkNoticeHead, decodeNotice } from '../../shared/notice-frames.js';
import { ifClosedByLiveChild } from './closed-by-child.js';
import { validNotice } from './notice-check.js';
import { stillRuns } from './process-status.js';

/**
 * Reads the notices a child writes on its notice pipe (child-fork.ts gives it one;
 * shared/notice-frames.ts has the format), and checks each as one from the IPC channel is checked.
 * The child's end is its own: whatever it writes must not throw here. The first frame that is not a
 * well-formed notice stops the reading (`onMisbehaved`: the child is stopped); a frame cut off by
 * the child's death is dropped, as a message it never finished sending.
 *
 * The pipe does not hold the process: a running task does (tinypool's port), and the parent waits
 * for a batch's last notice while it holds the event loop itself (tinypool-transport.ts).
 */
export function readNotices(
  child: ChildProcess,
  onNotice: (notice: ChildNotice) => void,
  onMisbehaved: (why: string) => void,
  onClosedEarly: () => void,
): void {
  const pipe = child.stdio[noticePipeFd] as Readable | null | undefined;
  if (!pipe) return;
  (pipe as Readable & { unref?: () => void }).unref?.();
  let failed = false;
  const reader = new FrameReader((body) => {
    if (failed) return;
    let notice: unknown;
    try {
      notice = decodeNotice(body);
    } catch (error) {
      failed = true;
      onMisbehaved(`wrote a frame on its notice pipe that the parent could not read (${messageOf(error)})`);
      return;
    }
    if (!validNotice(notice)) {
      failed = true;
      onMisbehaved('wrote something on its notice pipe that is not a well-formed notice');
      return;
    }
    try {
      onNotice(notice);
    } catch (error) {
      failed = true;
      onMisbehaved(`wrote a notice that the parent could not handle (${messageOf(error)})`);
    }
  }, checkNoticeHead);
  pipe.on('data', (chunk: Buffer) => {
    if (failed) return;
    try {
      reader.push(chunk);
    } catch (error) {
      failed = true;
      onMisbehaved(`wrote a frame on its notice pipe that the parent could not read (${messageOf(error)})`);
    }
  });
  // A read error is the pipe's end: what was read is what was sent.
  pipe.on('error', () => {});
  // Its answers, and the 'ended' notice its batch waits for, can no longer come. Closed while the
  // child still runs (code in it closed or reused the descriptor): what it wrote since went nowhere.
  pipe.once('end', () => {
    if (stillRuns(child)) onClosedEarly();
    ifClosedByLiveChild(child, () => {
      if (!failed)
        onMisbehaved(
          `closed its notice pipe (fd ${noticePipeFd}), on which it answers the parent; code in the child must not close or reuse that descriptor`,
        );
    });
  });
}
