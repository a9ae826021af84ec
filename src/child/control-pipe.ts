import { Socket } from 'node:net';
import type { ChildNotice } from '../protocol.js';
import { decodeControl } from '../shared/control-frames.js';
import { FrameReader } from '../shared/frames.js';
import { onBatchControl } from './run-batch.js';
import { controlFd } from './pipes.js';

/**
 * Reads the parent's batch control from this child's control pipe (shared/control-frames.ts), when
 * it has one; it comes on the IPC channel otherwise (runner.ts listens there too). The pipe does not
 * hold this child: its IPC channel does, and when the parent goes the child goes (orphan-watchdog.ts).
 */
export function readControl(): void {
  if (controlFd === undefined) return;
  let pipe: Socket;
  try {
    pipe = new Socket({ fd: controlFd, readable: true, writable: false });
  } catch {
    // A permission model that the parent did not see coming (Node 25+ without --allow-net, turned on
    // by a config file, say: pool/local/child-fork.ts): control comes on the IPC channel, as this
    // says there, before the child is ready for any call.
    process.send?.(['run-in-process:control-on-ipc'] satisfies ChildNotice);
    return;
  }
  pipe.unref();
  const reader = new FrameReader((body) => onBatchControl(decodeControl(body)));
  pipe.on('data', (chunk: Buffer) => reader.push(chunk));
  // The parent is gone or closed it: the IPC channel's end says the rest.
  pipe.on('error', () => {});
}
