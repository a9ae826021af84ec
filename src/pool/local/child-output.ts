import type { ChildProcess } from 'node:child_process';
import { write } from 'node:fs';
import type { Readable } from 'node:stream';

/**
 * A child's stdout and stderr, passed on to this process's own file descriptors 1 and 2. Written
 * to the descriptor, not to `process.stdout`: when the reader of this process's output has gone
 * (`node app.mjs | head -c 10`), a write fails with EPIPE, and on `process.stdout` that failure is
 * an 'error' event that ends a parent that never printed anything itself. Here it only drops the
 * child's output, which has nowhere to go.
 */
export function forwardOutput(child: ChildProcess): void {
  forward(child.stdout, process.stdout, 1);
  forward(child.stderr, process.stderr, 2);
}

/**
 * tinypool 2.2.0 pipes each child's output into ours, and raises our streams' maxListeners by one
 * per child it ever starts (1,763 after 50,000 calls), which hides real leak warnings: both are
 * undone before the output is passed on.
 */
function forward(from: Readable | null, to: NodeJS.WriteStream, fd: number): void {
  if (!from) return;
  from.unpipe(to);
  to.setMaxListeners(Math.max(0, to.getMaxListeners() - 1));
  from.on('data', (chunk: Buffer) => write(fd, chunk, dropped));
}

function dropped(): void {
  // EPIPE, EAGAIN or a closed descriptor: the output is lost, the process goes on.
}
