import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { ChildStartupError } from '../../errors.js';
import { setImmediate } from '../../shared/real-clock.js';

/**
 * What tinypool gets for a fork that failed as Node started it (EMFILE, ENFILE, EAGAIN: this process
 * is out of descriptors, or the machine of processes). Such a child has no pid and no pipes, and Node
 * emits its error a tick later, on a ChildProcess nothing listens to yet: an uncaught 'error' that
 * would end this process. tinypool 2.2.0 has given the new child one of its `size` worker ids by
 * then, which only the child's exit gives back: a throw here would lose it for the pool's life. So
 * this stands in for the child: it takes what tinypool sends it, and exits at once, and the error
 * tinypool raises for that exit (which fails the call the child was for) says why.
 */
export class NotStarted extends EventEmitter {
  readonly pid = undefined;
  readonly stdout = null;
  readonly stderr = null;
  readonly channel = undefined;
  exitCode: number | null = null;
  readonly signalCode = null;

  constructor(failed: ChildProcess) {
    super();
    failed.on('error', () => {}); // Said by the error below.
    setImmediate(() => {
      this.exitCode = 1;
      this.emit('exit', 1, null);
    });
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    // tinypool turns the exit into "Worker exited unexpectedly": the call's error says why instead.
    if (event === 'error') return super.emit(event, notStartedError());
    return super.emit(event, ...args);
  }

  send(): boolean {
    return false;
  }

  kill(): boolean {
    return false;
  }

  ref(): void {}

  unref(): void {}
}

/** Whether tinypool's child is a stand-in for one that could not be started (it has no record to keep). */
export function isNotStarted(child: unknown): boolean {
  return child instanceof NotStarted;
}

/** Whether tinypool's error for a lost child is a stand-in's: no child could be started. */
export function isNotStartedError(error: unknown): error is ChildStartupError {
  return typeof error === 'object' && error !== null && notStartedErrors.has(error);
}

const notStartedErrors = new WeakSet<object>();

function notStartedError(): ChildStartupError {
  const error = new ChildStartupError(
    'A child process could not be started: the system refused to start it (this process may have run out of file ' +
      'descriptors, EMFILE, or the machine of processes, EAGAIN). Raise `ulimit -n` or `ulimit -u`, or find what ' +
      'holds them; the next call tries again.',
    null,
    null,
    '',
  );
  notStartedErrors.add(error);
  return error;
}
