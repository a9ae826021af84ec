import type { ChildProcess } from 'node:child_process';
import { write } from 'node:fs';
import type { Readable } from 'node:stream';
import { setImmediate, setTimeout } from '../../shared/real-clock.js';

/**
 * A child's stdout and stderr, passed on to this process's own file descriptors 1 and 2. Written
 * to the descriptor, not to `process.stdout`: when the reader of this process's output has gone
 * (`node app.mjs | head -c 10`), a write fails with EPIPE, and on `process.stdout` that failure is
 * an 'error' event that ends a parent that never printed anything itself. Here it only drops the
 * child's output, which has nowhere to go. A reader that is only slower than the children (a pipe
 * full for a while: EAGAIN) is waited for, and the children's output is held back meanwhile, as a
 * child writing to the pipe itself would be: none of it is lost.
 */
export function forwardOutput(child: ChildProcess): void {
  forward(child.stdout, process.stdout, 1);
  forward(child.stderr, process.stderr, 2);
}

/** Past this many bytes waiting for one descriptor, the children's streams are paused; below half, resumed. */
const highWater = 1024 * 1024;
/**
 * The longest wait before writing again to a pipe that was full: at first, only a turn of the event
 * loop, then twice as long each time (a reader stalled for good costs ten tries a second).
 */
const longestRetryMs = 100;

/** What waits to be written to one descriptor, in the order the children wrote it. */
interface Backlog {
  chunks: Buffer[];
  bytes: number;
  writing: boolean;
  /** Writes in a row that found the pipe full: each waits longer, so that a stalled reader costs next to no CPU. */
  full: number;
  /** The children's streams paused until the reader catches up. */
  readonly paused: Set<Readable>;
}
const backlogs = new Map<number, Backlog>();
const pausedHere = new WeakSet<Readable>();

/** Paused here, for a slow reader: not to be resumed by anyone else (child-tracker.ts). */
export function heldBack(stream: Readable): boolean {
  return pausedHere.has(stream);
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
  from.on('data', (chunk: Buffer) => queue(fd, chunk, from));
}

function queue(fd: number, chunk: Buffer, from: Readable): void {
  let backlog = backlogs.get(fd);
  if (!backlog) backlogs.set(fd, (backlog = { chunks: [], bytes: 0, writing: false, full: 0, paused: new Set() }));
  backlog.chunks.push(chunk);
  backlog.bytes += chunk.length;
  if (backlog.bytes > highWater && !backlog.paused.has(from)) {
    backlog.paused.add(from);
    pausedHere.add(from);
    from.pause();
  }
  if (!backlog.writing) writeNext(fd, backlog);
}

function writeNext(fd: number, backlog: Backlog): void {
  if (backlog.bytes <= highWater / 2) resume(backlog);
  const chunk = backlog.chunks[0];
  backlog.writing = chunk !== undefined;
  if (chunk === undefined) return;
  write(fd, chunk, (error, written) => {
    if ((error as NodeJS.ErrnoException | null)?.code === 'EAGAIN') {
      // The process waits for it, as it waits to write its own output to that pipe: a reader that
      // has gone makes it EPIPE, and then nothing is held.
      const again = () => writeNext(fd, backlog);
      if (backlog.full++ === 0) setImmediate(again);
      else setTimeout(again, Math.min(longestRetryMs, 2 ** (backlog.full - 2)));
      return;
    }
    backlog.full = 0;
    if (error) {
      // EPIPE or a closed descriptor: the output is lost, the process goes on.
      backlog.chunks.length = 0;
      backlog.bytes = 0;
    } else {
      backlog.bytes -= written;
      if (written < chunk.length) backlog.chunks[0] = chunk.subarray(written);
      else backlog.chunks.shift();
    }
    writeNext(fd, backlog);
  });
}

function resume(backlog: Backlog): void {
  for (const stream of backlog.paused) {
    pausedHere.delete(stream);
    stream.resume();
  }
  backlog.paused.clear();
}
