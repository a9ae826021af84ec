/**
 * The errors this library raises itself. Errors thrown by *your* code in the child come back as
 * their own class (see README, "Errors"); these are for what happened around your code.
 *
 * Every class has a stable `code` (on each instance) and a `name` (on its prototype), so `err.code === 'ERR_CALL_TIMEOUT'`
 * and `err instanceof TimeoutError` both work, also for errors that crossed a process boundary.
 */

/**
 * A POSIX signal name, the same names as `NodeJS.Signals`, declared here so that the published
 * types do not depend on `@types/node`.
 */
export type Signal =
  | 'SIGABRT'
  | 'SIGALRM'
  | 'SIGBUS'
  | 'SIGCHLD'
  | 'SIGCONT'
  | 'SIGFPE'
  | 'SIGHUP'
  | 'SIGILL'
  | 'SIGINT'
  | 'SIGIO'
  | 'SIGIOT'
  | 'SIGKILL'
  | 'SIGPIPE'
  | 'SIGPOLL'
  | 'SIGPROF'
  | 'SIGPWR'
  | 'SIGQUIT'
  | 'SIGSEGV'
  | 'SIGSTKFLT'
  | 'SIGSTOP'
  | 'SIGSYS'
  | 'SIGTERM'
  | 'SIGTRAP'
  | 'SIGTSTP'
  | 'SIGTTIN'
  | 'SIGTTOU'
  | 'SIGUNUSED'
  | 'SIGURG'
  | 'SIGUSR1'
  | 'SIGUSR2'
  | 'SIGVTALRM'
  | 'SIGWINCH'
  | 'SIGXCPU'
  | 'SIGXFSZ'
  | 'SIGBREAK'
  | 'SIGLOST'
  | 'SIGINFO';

/**
 * Every `code` this library gives an error. The classes below carry one each; misuse found when a
 * decorator is applied, or an option that is wrong, is a `TypeError` (a value out of range, a
 * `RangeError`) with `ERR_INVALID_USAGE` or `ERR_INVALID_OPTION`, as Node does for its own APIs.
 */
export type ErrorCode =
  | 'ERR_RUN_IN_PROCESS'
  | 'ERR_PROCESS_CRASHED'
  | 'ERR_CALL_TIMEOUT'
  | 'ERR_SERIALIZATION'
  | 'ABORT_ERR'
  | 'ERR_MODULE_LOAD'
  | 'ERR_CHILD_STARTUP'
  | 'ERR_POOL_CLOSED'
  | 'ERR_QUEUE_FULL'
  | 'ERR_NOT_SERVED'
  | 'ERR_WORKER_LOST'
  | 'ERR_JOB_LOST'
  | 'ERR_NO_WORKER'
  | 'ERR_TRANSPORT_UNAVAILABLE'
  | 'ERR_INVALID_USAGE'
  | 'ERR_INVALID_OPTION';

/** Base class of every error raised by run-in-process itself; by itself, a failure of the pool machinery. */
export class RunInProcessError extends Error {
  /** A stable machine-readable code, e.g. `ERR_PROCESS_CRASHED`. */
  readonly code: ErrorCode = 'ERR_RUN_IN_PROCESS';
  /**
   * Remote pools only: the hostname of the worker whose own pool raised this (a crash, a timeout,
   * an abort on that machine). Not set for errors raised here.
   */
  declare readonly host?: string;
  /** Remote pools only: the name of that worker in the queue (`<host>:<pid>`). */
  // `| undefined`: WorkerLostError's may be unknown, which an app with exactOptionalPropertyTypes type-checks.
  declare readonly worker?: string | undefined;

  /**
   * `instanceof` holds across copies of the library: an error raised by another copy's pool is an
   * instance of this copy's class of the same name. A process can hold two: under tsx, a CommonJS
   * app's `require('run-in-process')` is tsx's compiled copy, while the pool the library loads with
   * `import()` is Node's (so a TimeoutError it raised failed `instanceof TimeoutError`); a plugin may
   * bring its own. Classes are matched by the brand each copy gives its own (below); a subclass of
   * yours is matched as `instanceof` matches it.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: the class `instanceof` asks about (a subclass inherits this method)
    return instanceOfAnyCopy(this, value);
  }
}

/** Misuse found when a decorator is applied or a function wrapped: always a `TypeError`. */
export function usageError(message: string): TypeError & { code: 'ERR_INVALID_USAGE' } {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_USAGE' as const });
}

/** An option that is not what it must be: a `TypeError`, or a `RangeError` for a number out of range. */
export function optionError(message: string, outOfRange = false): Error & { code: 'ERR_INVALID_OPTION' } {
  const error = Object.assign(outOfRange ? new RangeError(message) : new TypeError(message), {
    code: 'ERR_INVALID_OPTION' as const,
  });
  optionErrors.add(error);
  return error;
}

const optionErrors = new WeakSet<object>();

/** Whether this is the library's own option error: not a value code of the caller's threw (whose `code` may lie, or throw). */
export function isOptionError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && optionErrors.has(error);
}

/** The child process died (exit, signal, segfault, abort, out of memory) while running the call. */
export class ProcessCrashedError extends RunInProcessError {
  override readonly code: 'ERR_PROCESS_CRASHED' | 'ERR_WORKER_LOST' = 'ERR_PROCESS_CRASHED';
  constructor(
    message: string,
    /** The child's exit code, or `null` when a signal ended it. */
    readonly exitCode: number | null,
    /** The signal that ended the child (`'SIGSEGV'`, `'SIGABRT'`, `'SIGKILL'`…), or `null`. */
    readonly signal: Signal | null,
    /** What was running: `Class.method`, `Class.staticMethod` or the function's id. */
    readonly target: string,
    /** The last lines the child wrote to stderr (up to a few KB). */
    readonly stderr: string,
    /** True when the child ran out of JavaScript heap. */
    readonly outOfMemory: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The call ran longer than its `timeout`; its child was killed and will be replaced. */
export class TimeoutError extends RunInProcessError {
  override readonly code = 'ERR_CALL_TIMEOUT';
  constructor(
    message: string,
    /** The limit that was exceeded, in milliseconds. */
    readonly timeout: number,
    readonly target: string,
  ) {
    super(message);
  }
}

/** A value could not cross the process boundary (a function, a symbol, a SharedArrayBuffer…). */
export class SerializationError extends RunInProcessError {
  override readonly code = 'ERR_SERIALIZATION';
  constructor(
    message: string,
    /** Where the value sits, e.g. `args[1].onProgress`, `this.socket` or `result.handle`. */
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The call was aborted through its AbortSignal. Like Node's own AbortError, `cause` is `signal.reason`. */
export class AbortError extends RunInProcessError {
  override readonly code = 'ABORT_ERR';
}

/** The child could not import the declaring module or find the target in it. */
export class ModuleLoadError extends RunInProcessError {
  override readonly code = 'ERR_MODULE_LOAD';
  constructor(
    message: string,
    /** The URL the child tried to import. */
    readonly moduleUrl: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A child process died before it was ready to take calls (bad exec flags, a broken loader…). */
export class ChildStartupError extends RunInProcessError {
  override readonly code = 'ERR_CHILD_STARTUP';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: Signal | null,
    readonly stderr: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The pool was shut down before the call could finish. `mayHaveRun`: it had been sent to a child (or
 * a remote worker) and may have run, in part or whole; false for a call that never left the queue.
 */
export class PoolClosedError extends RunInProcessError {
  override readonly code = 'ERR_POOL_CLOSED';
  readonly mayHaveRun: boolean;
  constructor(message: string, options?: ErrorOptions & { mayHaveRun?: boolean }) {
    super(message, options);
    this.mayHaveRun = options?.mayHaveRun ?? false;
  }
}

/** The pool's queue held `maxQueue` calls already: the call was refused at once, nothing was sent. */
export class QueueFullError extends RunInProcessError {
  override readonly code = 'ERR_QUEUE_FULL';
  constructor(
    message: string,
    /** The pool's `maxQueue`. */
    readonly limit: number,
  ) {
    super(message);
  }
}

/** A remote worker does not serve the target the call names: not retried, as no worker of that build would. */
export class NotServedError extends RunInProcessError {
  override readonly code = 'ERR_NOT_SERVED';
  constructor(
    message: string,
    /** The target's key, `<package>:<path>#<Class.method>`. */
    readonly target: string,
    /** The ids the worker serves that are nearest to it. */
    readonly nearest: string[],
  ) {
    super(message);
  }
}

/**
 * The remote worker (its process or its machine) was lost while it held the call: the call may
 * have run, in part or in full, and it is not run again unless `retries` allows it.
 */
export class WorkerLostError extends ProcessCrashedError {
  override readonly code = 'ERR_WORKER_LOST' as const;
  readonly mayHaveRun = true;
  constructor(
    message: string,
    label: string,
    /** The queue's job id of the call. */
    readonly jobId: string,
    /** The worker's name, when the queue knows it. */
    readonly worker: string | undefined,
  ) {
    super(message, null, null, label, '', false);
  }
}

/** The queue no longer has the call's job (its store was restarted without persistence, or it was removed). */
export class JobLostError extends RunInProcessError {
  override readonly code = 'ERR_JOB_LOST';
  /** A worker may have taken the job, and run its calls, before it was lost. */
  readonly mayHaveRun = true;
  constructor(
    message: string,
    readonly jobId: string,
  ) {
    super(message);
  }
}

/**
 * No live worker takes the pool's calls (of this build): the call was not sent, or its job waited in
 * the queue until the last worker left, and was removed unrun. A transport may wait for one instead
 * (`bullmq({ waitForWorker: true })`).
 */
export class NoWorkerError extends RunInProcessError {
  override readonly code = 'ERR_NO_WORKER';
  constructor(
    message: string,
    /** The queue the call was for: `<pool>@<build>`. */
    readonly queue: string,
  ) {
    super(message);
  }
}

/**
 * The transport's store (Redis) could not be reached: when the call was made (nothing was sent), or
 * for longer than the transport waits for it while the call was out (`mayHaveRun`: a worker may
 * have run it, or may still run it once the store is back; its answer is no longer awaited).
 */
export class TransportUnavailableError extends RunInProcessError {
  override readonly code = 'ERR_TRANSPORT_UNAVAILABLE';
  readonly mayHaveRun: boolean;
  constructor(message: string, options?: ErrorOptions & { mayHaveRun?: boolean }) {
    super(message, options);
    this.mayHaveRun = options?.mayHaveRun ?? false;
  }
}

const ownClasses = {
  RunInProcessError,
  ProcessCrashedError,
  TimeoutError,
  SerializationError,
  AbortError,
  ModuleLoadError,
  ChildStartupError,
  PoolClosedError,
  QueueFullError,
  NotServedError,
  WorkerLostError,
  JobLostError,
  NoWorkerError,
  TransportUnavailableError,
};
/**
 * Marks a class as this library's own in every copy of the library a process holds. A second copy
 * has classes of its own, and an error of one must still cross as ours: a package installed twice
 * (a plugin with its own), or one copy loaded twice. Node 20 does that to a package reached through
 * a symlink (pnpm, npm link, workspaces) after any synchronous stat of a pipe or a socket:
 * `realpathSync` reads a stale stat there, stops, and the package loads by its link's path.
 */
const libraryClassBrand = Symbol.for('run-in-process.error-class');

for (const [name, errorClass] of Object.entries(ownClasses)) {
  Object.defineProperty(errorClass.prototype, 'name', { value: name, writable: true, configurable: true });
  Object.defineProperty(errorClass, libraryClassBrand, { value: name });
}

/** `value instanceof asked`, or an instance of another copy's class of the same name (RunInProcessError's hasInstance). */
function instanceOfAnyCopy(asked: Function, value: unknown): boolean {
  if (Function.prototype[Symbol.hasInstance].call(asked, value)) return true;
  const name = Object.hasOwn(asked, libraryClassBrand) ? Reflect.get(asked, libraryClassBrand) : undefined;
  if (typeof name !== 'string' || typeof value !== 'object' || value === null) return false;
  try {
    // Bounded: a Proxy's getPrototypeOf trap can make the chain endless.
    let proto = Object.getPrototypeOf(value);
    for (let depth = 0; proto !== null && depth < 64; depth++, proto = Object.getPrototypeOf(proto)) {
      const made = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as unknown;
      if (typeof made === 'function' && Object.hasOwn(made, libraryClassBrand)) {
        if (Reflect.get(made, libraryClassBrand) === name) return true;
      }
    }
  } catch {
    // A Proxy whose traps throw is no error of ours.
  }
  return false;
}

/** Our classes by name, so that one raised in a child is rebuilt as the same class in the parent. */
export const libraryErrorClasses: ReadonlyMap<string, Function> = new Map(Object.entries(ownClasses));

/** `errorClass` is this library's class `name`: of this copy, or (by its brand) of another copy. */
export function isLibraryErrorClass(errorClass: Function, name: string): boolean {
  const ours = libraryErrorClasses.get(name);
  if (ours === undefined) return false;
  return (
    ours === errorClass ||
    (Object.hasOwn(errorClass, libraryClassBrand) && Reflect.get(errorClass, libraryClassBrand) === name)
  );
}

/**
 * The global error classes a child and its parent both have: an error of one comes back as it, and
 * no registered class may take its name (errors are matched by name).
 */
export const builtinErrorNames: readonly string[] = [
  'Error',
  'TypeError',
  'RangeError',
  'SyntaxError',
  'ReferenceError',
  'EvalError',
  'URIError',
  'AggregateError',
  'SuppressedError',
  'DOMException',
].filter((name) => typeof (globalThis as Record<string, unknown>)[name] === 'function');

/**
 * `value instanceof type`, for a value the user's code gave (what a callback threw): false for one
 * whose prototype cannot be read (a Proxy whose trap throws, a revoked one), which `instanceof` would
 * throw for, leaving the call it fails unsettled.
 */
export function isInstance(value: unknown, type: abstract new (...args: never[]) => unknown): boolean {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}
