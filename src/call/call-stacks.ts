import { isLibraryFrame } from '../shared/stack-frames.js';

/**
 * Stacks that tell the whole story of an offloaded call: the child's frames where the error was
 * thrown, then the frames of the caller in the parent, which are what a developer reads first.
 *
 * The caller's frames are captured only when an error needs them, never up front: capturing on
 * every call costs 2–7 µs, a tenth of a whole tiny call. In the synchronous part of a call (a
 * recipe that cannot be built) they are the caller's own frames; once the call has gone to a child,
 * they are V8's async frames, the functions that await the call (`at async render (app.ts:12)`).
 */

/** What the inline transport says it runs calls in (pool/inline-transport.ts). */
const inlineRun = 'this process (inline mode)';

/** The frames above the library's own, from where this is called. */
function callerFrames(): string {
  const here: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  // Room for the library's own frames, which are dropped, and the usual ten of the caller's.
  Error.stackTraceLimit = limit + 20;
  try {
    Error.captureStackTrace(here);
  } finally {
    Error.stackTraceLimit = limit;
  }
  const frames = (here.stack ?? '')
    .split('\n')
    .slice(1)
    .filter((line) => !isLibraryFrame(line));
  return frames.slice(0, limit).join('\n');
}

/** Our own errors are raised in a callback; the caller's frames say more than where they were built. */
export function withCallerFrames(error: unknown): unknown {
  if (error instanceof Error) error.stack = `${error.name}: ${error.message}\n${callerFrames()}`;
  return error;
}

/**
 * The child's frames (without this library's and tinypool's), then the caller's in this process.
 * With no frame of the child's left, there is nothing above to set apart: an error that a remote
 * transport raised in this process (NoWorkerError, say) was never in a child at all. `where` ran
 * the call ('the child process', a remote worker, or this process in inline mode), for the line
 * between them.
 */
export function joinStacks(thrown: unknown, where = 'the child process'): unknown {
  if (!(thrown instanceof Error) || typeof thrown.stack !== 'string') return thrown;
  const childLines = thrown.stack.split('\n').filter((line) => !isLibraryFrame(line));
  const boundary = !childLines.some((line) => /^\s+at /.test(line))
    ? ''
    : where === inlineRun
      ? '\n    at <the call above, run inline in this process; its caller below>'
      : `\n    at <${where === 'the child process' ? where : `the child process of ${where}`} above, the parent process (pid ${process.pid}) below>`;
  thrown.stack = `${childLines.join('\n')}${boundary}\n${callerFrames()}`;
  return thrown;
}
