import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { ChildStartupError } from '../../errors.js';
import { setImmediate } from '../../shared/real-clock.js';

/**
 * What tinypool gets for a fork that failed as Node started it (EMFILE, ENFILE, EAGAIN: this process
 * is out of descriptors, or the machine of processes), or that Node refused at once, throwing (E2BIG:
 * an environment string or argument of 128 KiB or more, which a `process.env` set at run time
 * holds). Such a child has no pid and no pipes, and Node emits its error a tick later, on a
 * ChildProcess nothing listens to yet: an uncaught 'error' that would end this process. tinypool
 * 2.2.0 has given the new child one of its `size` worker ids by then, which only the child's exit
 * gives back: a throw lost it for the pool's life (every later call failed with tinypool's own
 * "Cannot read properties of undefined (reading 'toString')"). So this stands in for the child: it
 * takes what tinypool sends it, and exits at once, and the error tinypool raises for that exit
 * (which fails the call the child was for) says why.
 */
export class NotStarted extends EventEmitter {
  readonly pid = undefined;
  readonly stdout = null;
  readonly stderr = null;
  readonly channel = undefined;
  exitCode: number | null = null;
  readonly signalCode = null;

  #thrown: unknown;

  /** `failed`: the child Node could not start; `thrown`: what fork() threw instead of returning one. */
  constructor(failed: ChildProcess | undefined, thrown?: unknown) {
    super();
    this.#thrown = thrown;
    // Said by the error below: Node emits it on the next tick, before this one's exit.
    failed?.on('error', (error) => {
      this.#thrown ??= error;
    });
    setImmediate(() => {
      this.exitCode = 1;
      this.emit('exit', 1, null);
    });
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    // tinypool turns the exit into "Worker exited unexpectedly": the call's error says why instead.
    if (event === 'error') return super.emit(event, notStartedError(this.#thrown));
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

function notStartedError(thrown: unknown): ChildStartupError {
  const error = new ChildStartupError(
    `A child process could not be started: ${whyNotStarted(thrown)}; the next call tries again.`,
    null,
    null,
    '',
    thrown === undefined ? undefined : { cause: thrown },
  );
  notStartedErrors.add(error);
  return error;
}

function whyNotStarted(thrown: unknown): string {
  const code = (thrown as { code?: unknown } | undefined)?.code;
  const said = `(${String((thrown as Error | undefined)?.message ?? thrown)})`;
  switch (code) {
    case undefined:
      return (
        'the system refused to start it (this process may have run out of file descriptors, EMFILE, or the machine ' +
        'of processes, EAGAIN). Raise `ulimit -n` or `ulimit -u`, or find what holds them'
      );
    case 'E2BIG':
      return (
        'the system refused its environment or arguments (E2BIG): one of its environment strings or arguments is ' +
        "128 KiB or more, or all of them together too many. Look in process.env (the pool's children inherit it " +
        "unless the pool has an `env` of its own) and the pool's env and execArgv, and pass large data as a " +
        "call's argument, or in a file"
      );
    case 'EMFILE':
    case 'ENFILE':
      return `this process, or the machine, has run out of file descriptors ${said}. Raise \`ulimit -n\`, or find what holds them`;
    case 'EAGAIN':
      return (
        `the system would start no more processes ${said}: the process limit (\`ulimit -u\`, a cgroup's ` +
        "pids.max) is reached. Lower the pools' sizes, or raise the limit"
      );
    // The Node binary this process runs is gone or changed: a version manager (nvm, volta) or a
    // package upgrade removed it since this process started, or code here changed process.execPath.
    case 'ENOENT':
    case 'EACCES':
    case 'ENOEXEC':
      return (
        `Node's binary could not be run ${said}: ${process.execPath} (process.execPath, which children start ` +
        'from) is gone or not executable. Was Node removed or upgraded since this process started (nvm, volta, ' +
        'a package upgrade)? Restart the app'
      );
    default:
      return `Node could not start it ${said}`;
  }
}
