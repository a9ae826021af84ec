import diagnosticsChannel from 'node:diagnostics_channel';

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
