// What subscribers of the tracing channels receive (tracing.ts), in a file of its own so that the
// published types of these name nothing from @types/node.

/** The context of a call, as `run-in-process:call` subscribers see it. */
export interface CallContext {
  /** `Class.method` or the function's id. */
  target: string;
  module: string;
  pool: string;
  timeout: number | undefined;
  /** The child that ran it, once known. */
  pid: number | undefined;
  /**
   * Filled by subscribers in `start` (W3C `traceparent`, `tracestate`, `baggage`): it travels with
   * the call, only when not empty, and appears in the child's context.
   */
  carrier: Record<string, string>;
  /** What the call returned (a stream: what its generator returned), set by the channel before `asyncEnd`. */
  result?: unknown;
  /** What the call threw, rebuilt as the caller gets it, set by the channel before `error`. */
  error?: unknown;
}

/** Why a child ended, on `run-in-process:child:exit`. */
export type ExitReason = 'idle' | 'recycle' | 'crash' | 'timeout' | 'abort' | 'shutdown';

/** The context of a call in the child, on `run-in-process:child:call`. */
export interface ChildCallContext {
  target: string;
  module: string;
  /** What the parent's subscribers put in the call's carrier. */
  carrier: Record<string, string>;
}

/** What `run-in-process:child:spawn` and `run-in-process:child:exit` publish. */
export interface ChildSpawn {
  pool: string;
  pid: number | undefined;
}
export interface ChildExit extends ChildSpawn {
  exitCode: number | null;
  signal: string | null;
  reason: ExitReason;
}
