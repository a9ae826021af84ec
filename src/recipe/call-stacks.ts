/**
 * Stacks that tell the whole story of an offloaded call: the child's frames where the error was
 * thrown, then the frames of the caller in the parent, which are what a developer reads first.
 */

export type CallSite = { stack?: string };

/** Captured per call; V8 formats the frames only if an error needs them. */
export function captureCallSite(caller: Function): CallSite {
  const site: CallSite = {};
  Error.captureStackTrace(site, caller);
  return site;
}

function callerFrames(callSite: CallSite): string {
  const stack = callSite.stack ?? '';
  return stack.slice(stack.indexOf('\n') + 1);
}

/** Our own errors are raised in a callback; the caller's frames say more than where they were built. */
export function withCallerFrames(error: unknown, callSite: CallSite): unknown {
  if (error instanceof Error) error.stack = `${error.name}: ${error.message}\n${callerFrames(callSite)}`;
  return error;
}

const libraryFrame = /[\\/](run-in-process[\\/]dist|tinypool[\\/]dist)[\\/]/;

/** The child's frames (without this library's and tinypool's), then the caller's in this process. */
export function joinStacks(thrown: unknown, callSite: CallSite): unknown {
  if (!(thrown instanceof Error) || typeof thrown.stack !== 'string') return thrown;
  const childLines = thrown.stack.split('\n').filter((line) => !libraryFrame.test(line) && !line.includes('node:internal/'));
  thrown.stack = `${childLines.join('\n')}\n    at <the child process above, the parent process (pid ${process.pid}) below>\n${callerFrames(callSite)}`;
  return thrown;
}
