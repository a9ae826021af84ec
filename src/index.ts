import './symbol-metadata.js';

export { runInProcess, type OffloadedFunction, type RunInProcessDecorator } from './decorator/run-in-process.js';
export { configure, shutdown, type ShutdownOptions } from './pool/pools.js';
export { withCallOptions } from './call-options.js';
export { registerError } from './codec/error-classes.js';
export { isChildProcess } from './environment.js';
export type { CallOptions, PoolOptions, RunInProcessOptions } from './options.js';
export {
  AbortError,
  ChildStartupError,
  ModuleLoadError,
  PoolClosedError,
  ProcessCrashedError,
  RunInProcessError,
  SerializationError,
  TimeoutError,
  type Signal,
} from './errors.js';
