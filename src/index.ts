import './shared/runtime-check.js';
import './shared/symbol-metadata.js';

export { configure, shutdown, stats, warmUp } from './call/pools.js';
export type { PoolStats, TimeSummary } from './pool/call-stats.js';
export type { CallContext, ChildCallContext, ChildExit, ChildSpawn, ExitReason } from './shared/trace-context.js';
export { withCallOptions } from './call/call-options.js';
export { runInProcess, type OffloadedFunction, type RunInProcessDecorator } from './define/run-in-process.js';
export { registerError } from './shared/error-classes.js';
export { isChildProcess } from './shared/is-child-process.js';
export type {
  CallOptions,
  Permissions,
  PoolOptions,
  PoolTransport,
  RunInProcessOptions,
  ShutdownOptions,
  StreamOptions,
} from './options.js';
export {
  AbortError,
  ChildStartupError,
  JobLostError,
  ModuleLoadError,
  NoWorkerError,
  NotServedError,
  PoolClosedError,
  ProcessCrashedError,
  QueueFullError,
  RunInProcessError,
  SerializationError,
  TimeoutError,
  TransportUnavailableError,
  WorkerLostError,
  type ErrorCode,
  type Signal,
} from './errors.js';
