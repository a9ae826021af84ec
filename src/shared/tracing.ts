import diagnosticsChannel, { type TracingChannel } from 'node:diagnostics_channel';

export type { CallContext, ChildCallContext, ChildExit, ChildSpawn, ExitReason } from './trace-context.js';

/**
 * Tracing, the Node way: `diagnostics_channel`. Nothing is published, and nothing is built for it,
 * while nobody subscribes (`hasSubscribers`). The names are public (README, "Tracing").
 */

/** In the parent, around every call: start, end, asyncStart, asyncEnd (the value rebuilt), error. */
export const callChannel = diagnosticsChannel.tracingChannel('run-in-process:call');
/** In the child, around the method. */
export const childCallChannel = diagnosticsChannel.tracingChannel('run-in-process:child:call');
/** In the parent: a child was started, or ended. */
export const spawnChannel = diagnosticsChannel.channel('run-in-process:child:spawn');
export const exitChannel = diagnosticsChannel.channel('run-in-process:child:exit');

/**
 * `channel.tracePromise`, whose outcome is the call's own: Node writes `result` or `error` into the
 * context itself, which throws when a subscriber froze it (or sealed it, or made it not extensible),
 * and that TypeError would replace the call's value or error. Once the call has begun, what it
 * comes to is what the caller gets.
 */
export function tracedOwn<T>(channel: TracingChannel, context: object, call: () => Promise<T>): Promise<T> {
  let own: Promise<T> | undefined;
  return channel
    .tracePromise(() => {
      own = call();
      return own;
    }, context)
    .catch((error: unknown) => {
      if (own) return own;
      throw error;
    });
}
