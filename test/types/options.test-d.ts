// configure(), shutdown(), withCallOptions(), registerError(), isChildProcess() and the option types.
import {
  type CallOptions,
  configure,
  isChildProcess,
  type PoolOptions,
  type RunInProcessOptions,
  registerError,
  type ShutdownOptions,
  shutdown,
  withCallOptions,
} from 'run-in-process';
import { assertType, type Equal } from './helpers.js';

// configure(options) for the default pool, configure(name, options) for a named one.
const pool: PoolOptions = {
  size: 2,
  idleTimeout: 1_000,
  env: { PATH: '/bin', UNSET: undefined },
  execArgv: ['--enable-source-maps'],
  maxMemoryMb: 256,
  isolate: false,
  timeout: 5_000,
  recycleAfterCalls: 100,
  recycleAboveHeapMb: 512,
  callsPerChild: 1,
};
configure(pool);
configure({});
configure('native', { size: 1 });
assertType<Equal<ReturnType<typeof configure>, void>>();

// @ts-expect-error: an unknown pool option
configure({ sise: 2 });
// @ts-expect-error: size is a number
configure({ size: '2' });
// @ts-expect-error: execArgv is an array of strings
configure({ execArgv: '--inspect' });
// @ts-expect-error: env values are strings
configure({ env: { N: 1 } });
// @ts-expect-error: a named pool needs its options
configure('native');
// @ts-expect-error: the name is a string
configure(1, { size: 1 });

// RunInProcessOptions: what a decorator, a decorated class or the wrapper takes.
const runOptions: RunInProcessOptions = { timeout: 5, pool: 'x', module: 'file:///x.js', name: 'id' };
const runOptionsWithUrl: RunInProcessOptions = { module: new URL('file:///x.js') };
// @ts-expect-error: an unknown option key
const typo: RunInProcessOptions = { timout: 5 };
void [runOptions, runOptionsWithUrl, typo];

// withCallOptions(options, fn) returns what fn returns.
const controller = new AbortController();
const callOptions: CallOptions = { signal: controller.signal, timeout: 10 };
export const viaOptions: Promise<number> = withCallOptions(callOptions, async () => 1);
export const plain: string = withCallOptions({ timeout: 1 }, () => 'sync');
assertType<Equal<ReturnType<typeof withCallOptions<Promise<number>>>, Promise<number>>>();
// @ts-expect-error: an unknown call option
withCallOptions({ timout: 10 }, async () => 1);
// @ts-expect-error: signal is an AbortSignal
withCallOptions({ signal: controller }, async () => 1);
// @ts-expect-error: the function takes no arguments
withCallOptions({}, async (n: number) => n);
// @ts-expect-error: the result keeps fn's type
export const wrong: Promise<string> = withCallOptions({}, async () => 1);

// shutdown(options?) resolves when the pools are closed.
const shutdownOptions: ShutdownOptions = { deadline: 100 };
export const closed: Promise<void> = shutdown(shutdownOptions);
export const closedNow: Promise<void> = shutdown();
// @ts-expect-error: deadline is a number of milliseconds
void shutdown({ deadline: '1s' });
// @ts-expect-error: an unknown shutdown option
void shutdown({ deadlin: 100 });

// registerError(ErrorClass) takes a constructor of Errors.
class QuotaError extends Error {
  constructor(
    message: string,
    readonly quota: number,
  ) {
    super(message);
  }
}
registerError(QuotaError);
registerError(TypeError);
// @ts-expect-error: a class whose instances are not Errors
registerError(class NotAnError {});
// @ts-expect-error: an instance, not a class
registerError(new QuotaError('x', 1));

export const inChild: boolean = isChildProcess();
