import { usageError } from '../errors.js';
import type { RunInProcessOptions } from '../options.js';
import { isAsyncGeneratorFunction } from '../shared/registry.js';

/**
 * Refuses, at definition time, what a call could only fail at later, or ignore: a sync generator,
 * whose items cannot stream (only an `async *` one's do), and options for the other kind of target
 * (`stream` on one that does not stream, `retries` on one that does: a stream is never run again).
 * `what` names the target for the message: `parse()` or `Hasher.digest`.
 */
export function checkTargetShape(impl: Function, options: RunInProcessOptions, what: string): void {
  const streams = isAsyncGeneratorFunction(impl);
  if (Object.prototype.toString.call(impl) === '[object GeneratorFunction]') {
    throw usageError(
      `runInProcess cannot offload ${what}: it is a generator (function*), whose items cannot come from a child ` +
        `one at a time. Make it an async generator (async function*, async *method()), whose items stream, or ` +
        `an async function that returns an array.`,
    );
  }
  if (!streams && options.stream !== undefined) {
    throw usageError(
      `runInProcess: the stream option of ${what} applies to async generators (async *), which ${what} is not. ` +
        `Remove it, or make ${what} an async generator.`,
    );
  }
  if (streams && options.retries !== undefined && options.retries > 0) {
    throw usageError(
      `runInProcess: ${what} is an async generator, which is never run again (the items it yielded have been ` +
        `used): retries does not apply to it. Remove the retries option.`,
    );
  }
}
