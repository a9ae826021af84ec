// The error classes: what a caller can read from a failed call.
import {
  AbortError,
  ChildStartupError,
  ModuleLoadError,
  PoolClosedError,
  ProcessCrashedError,
  RunInProcessError,
  SerializationError,
  type Signal,
  TimeoutError,
} from 'run-in-process';
import { assertType, type Equal } from './helpers.js';

export function describe(error: unknown): string {
  if (error instanceof ProcessCrashedError) {
    assertType<Equal<typeof error.exitCode, number | null>>();
    assertType<Equal<typeof error.signal, Signal | null>>();
    assertType<Equal<typeof error.outOfMemory, boolean>>();
    assertType<Equal<typeof error.code, 'ERR_PROCESS_CRASHED' | 'ERR_WORKER_LOST'>>();
    const nodeSignal: NodeJS.Signals | null = error.signal;
    return `${error.target} crashed: ${error.exitCode} ${nodeSignal} ${error.stderr}`;
  }
  if (error instanceof TimeoutError) {
    assertType<Equal<typeof error.code, 'ERR_CALL_TIMEOUT'>>();
    return `${error.target} timed out after ${error.timeout} ms`;
  }
  if (error instanceof SerializationError) return `${error.code}: ${error.path}`;
  if (error instanceof ModuleLoadError) return `${error.code}: ${error.moduleUrl}`;
  if (error instanceof ChildStartupError) return `${error.code}: ${error.exitCode} ${error.signal} ${error.stderr}`;
  if (error instanceof AbortError || error instanceof PoolClosedError) return error.code;
  if (error instanceof RunInProcessError) {
    const code: string = error.code;
    const asError: Error = error;
    return `${code} ${asError.message}`;
  }
  return 'other';
}

const signal: Signal = 'SIGKILL';
// @ts-expect-error: not a signal name
const notASignal: Signal = 'SIGNOPE';
void [signal, notASignal];

export function readOnly(error: TimeoutError): void {
  // @ts-expect-error: the fields are read-only
  error.timeout = 1;
}
