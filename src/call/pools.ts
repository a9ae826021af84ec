import { optionError, usageError } from '../errors.js';
import { sameChildren, sameOptions } from './same-options.js';
import {
  checkPoolOptions,
  checkShutdownOptions,
  defaultPoolName,
  poolDefaults,
  type PoolOptions,
  type ShutdownOptions,
} from '../options.js';
import type { PoolStats } from '../pool/call-stats.js';
import type { Scheduler } from '../pool/scheduler.js';
import { prepareAddresses } from './recipe.js';
import { joinCopies } from '../shared/library-copies.js';
import { libraryDir } from '../shared/library-dir.js';
import { processState } from '../shared/process-state.js';
import { findModule } from '../shared/registry.js';
import { unnamedMessage, unnamedTargetsIn } from '../shared/remote-key.js';
import { warnOnce } from '../shared/warn-once.js';

/**
 * The named pools as the call path sees them: their options, and their schedulers. The machinery
 * behind a scheduler (the pool folder, tinypool) is loaded on the first call, not when a module
 * imports this library: a child imports the same modules, and has no use for it.
 */

type Machinery = typeof import('../pool/pools.js');

const optionsByName = new Map<string, PoolOptions>([[defaultPoolName, {}]]);
/** The pools given options by `configure()`: the default one is in optionsByName from the start. */
const configuredNames = new Set<string>();
/** The pools whose options calls have taken, each checked against other copies of the library once. */
const taken = new Set<string>();
/** How many of those have `permissions`. */
let sandboxedPools = 0;
let machinery: Machinery | undefined;
let loading: Promise<Machinery> | undefined;

/**
 * Sets the options of the default pool, or of a named pool used with `{ pool: name }`.
 *
 * @example
 * configure({ size: 4, maxMemoryMb: 512 });
 * configure('native', { size: 1, isolate: true, timeout: 5_000 });
 */
export function configure(options: PoolOptions): void;
export function configure(name: string, options: PoolOptions): void;
export function configure(nameOrOptions: string | PoolOptions, maybeOptions?: PoolOptions, ...more: unknown[]): void {
  // From JavaScript, options split over two objects would lose the second's without a word.
  if (more.length > 0) {
    throw usageError(
      `configure() takes a pool name and one options object (got ${more.length + 2} arguments). ` +
        `Put all of a pool's options in one object: configure('name', { size: 2, timeout: 5_000 }).`,
    );
  }
  // configure(42, { … }): the name is what is wrong, not the options.
  if (maybeOptions !== undefined && typeof nameOrOptions !== 'string') {
    throw usageError(
      `configure(name, options): the pool name must be a non-empty string (got ${typeof nameOrOptions}). ` +
        `Call configure(options) for the default pool.`,
    );
  }
  const name = typeof nameOrOptions === 'string' ? nameOrOptions : defaultPoolName;
  const options = typeof nameOrOptions === 'string' ? maybeOptions : nameOrOptions;
  if (name === '') throw usageError('configure(name, options): the pool name must be a non-empty string.');
  const where = name === defaultPoolName ? 'configure(options)' : `configure('${name}', options)`;
  if (options === undefined) throw optionError(`${where}: options must be an object like { size: 4 } (got undefined).`);
  const checked = checkPoolOptions(options, where);
  if (checked.transport) {
    checked.transport.checkPool?.(name);
    refuseUnnamed(name);
  }
  const before = optionsByName.get(name);
  // The same options again (a set-up run per request or per test) leave a running pool as it is.
  if (!before || !sameOptions(before, checked)) {
    if (before?.permissions !== undefined) sandboxedPools--;
    if (checked.permissions !== undefined) sandboxedPools++;
    if ((before?.permissions !== undefined) !== (checked.permissions !== undefined))
      tellThreads(name, checked.permissions !== undefined);
    optionsByName.set(name, checked);
    configuredNames.add(name);
    // Only a call's limits changed: the pool as it is takes them (a call made before keeps its own).
    if (before && sameChildren(before, checked)) machinery?.retune(name, checked);
    // Calls in flight finish on the old children; those still waiting for one, and new calls, go to new ones.
    else machinery?.drain(name, checked);
  }
  // Children kept warm start now; what goes wrong surfaces at warmUp() or at the first call. Not in
  // a child, which runs the module that configures the pool again, and its calls in process: each
  // child would start warm children of its own, and a module that preloads itself, without end.
  if ((checked.minChildren ?? 0) > 0 && !processState.isChild) startWarmChildren(name);
}

/**
 * Starts a pool's warm children in the background. A pool that cannot be made here (a single
 * executable application, a sandboxed pool in inline mode) says so at warmUp() or at the first
 * call: with the pool code loaded, making it throws at once, and configure() must not throw for
 * options it has taken.
 */
function startWarmChildren(name: string): void {
  try {
    Promise.resolve(schedulerFor(name)).catch(() => {});
  } catch {
    // As above.
  }
}

/**
 * Starts a pool (the default one unless named) and settles once its warm children (`minChildren`,
 * at least one) are ready: booted, with the modules of `preload` imported. A first call then costs
 * about what a warm call does. Rejects with ModuleLoadError when a preloaded module cannot be
 * imported, and with ChildStartupError when children cannot start. In a child process it settles
 * at once: calls made there run in that child.
 *
 * @example
 * configure('render', { minChildren: 2, preload: ['./dist/render.js'] });
 * await warmUp('render');
 */
export async function warmUp(name: string = defaultPoolName): Promise<void> {
  if (typeof name !== 'string' || name === '')
    throw usageError('warmUp(pool): the pool name must be a non-empty string.');
  // In a child, calls run in process: there is nothing to warm (see configure()).
  if (processState.isChild) return;
  const scheduler = await schedulerFor(name);
  // What this process has of the preloaded modules gets its recipes' addresses made too.
  for (const url of poolOptions(name).preload ?? []) {
    const module = findModule(url);
    if (module) prepareAddresses(module);
  }
  await scheduler.warmUp();
}

/**
 * Closes every pool (those of other copies of the library in this process too): waits for calls in
 * flight up to the deadline, rejects what is left, and stops every child. A call made afterwards
 * starts its pool again.
 */
export async function shutdown(options: ShutdownOptions = {}): Promise<void> {
  const { deadline = poolDefaults.deadline } = checkShutdownOptions(options, 'shutdown(options)');
  // Another copy of the library in this process has pools of its own, which an app that calls this
  // before it exits means to close too (its children would outlive the call).
  await Promise.all([closeOwn(deadline), ...otherCopies().map((copy) => copy.closeOwn(deadline))]);
}

async function closeOwn(deadline: number): Promise<void> {
  if (machinery) return machinery.closeAll(deadline);
  // While the machinery loads, calls wait for it in the order they were made: the pools close in the
  // same turn as it ends, after the schedulers of calls made before this were handed out, and before
  // those of calls made after it, which start their pools again.
  await loading?.then(
    (loaded) => loaded.closeAll(deadline),
    () => {}, // Nothing started: nothing to close.
  );
}

const otherCopies = joinCopies({
  configuredAs(name) {
    if (!configuredNames.has(name)) return undefined;
    const options = optionsByName.get(name);
    return options?.permissions !== undefined
      ? 'sandboxed'
      : options?.transport !== undefined
        ? 'remote'
        : 'configured';
  },
  closeOwn,
});

/**
 * A snapshot of a pool (the default one unless named): its children, its calls waiting and running,
 * and what its calls have come to since it started. With the pool option `recordTiming`, also how
 * long calls waited for a child and ran (`waitTime`, `runTime`, in ms). A pool that has not started
 * yet reports zeros.
 *
 * @example
 * const { queued, children } = stats('render');
 */
export function stats(name: string = defaultPoolName): PoolStats {
  if (typeof name !== 'string' || name === '')
    throw usageError('stats(pool): the pool name must be a non-empty string.');
  const started = machinery?.statsOf(name);
  if (started) return started;
  // With recordTiming, empty summaries, as a started pool gives before its first call.
  const none = () => ({ count: 0, min: 0, max: 0, mean: 0, p50: 0, p99: 0 });
  const timing = configuredOptions(name)?.recordTiming === true ? { waitTime: none(), runTime: none() } : {};
  // In the order of a started pool's snapshot (pool/scheduler.ts): a log or a JSON diff reads the same.
  return {
    queued: 0,
    running: 0,
    completed: 0,
    failed: 0,
    crashed: 0,
    timedOut: 0,
    aborted: 0,
    shed: 0,
    ...timing,
    children: { busy: 0, idle: 0, starting: 0, recycled: 0 },
  };
}

/**
 * Targets of a remote pool must be nameable on another machine: those defined so far are checked
 * when a pool becomes remote, and each one defined later when it is defined (define/).
 */
export function refuseUnnamed(pool: string, onlyModule?: string): void {
  const [first, ...more] = unnamedTargetsIn(pool, onlyModule);
  if (first) throw usageError(unnamedMessage(first.label, first.module, pool, more));
}

/** The pools whose calls run through a transport of their own (remote ones). */
export function remotePools(): string[] {
  return [...optionsByName].filter(([, options]) => options.transport !== undefined).map(([name]) => name);
}

/** Whether a pool configured in this process is sandboxed (`permissions`): nested calls check only then. */
export function knowsSandboxedPool(): boolean {
  return sandboxedPools > 0;
}

/** A pool's options if `configure()` gave it some, without the defaults or their warning. */
export function configuredOptions(name: string): PoolOptions | undefined {
  return optionsByName.get(name);
}

/** The options a pool's calls get: those of `configure()`, or the defaults with a warning. */
export function poolOptions(name: string): PoolOptions {
  const options = optionsByName.get(name);
  if (options && taken.has(name)) return options;
  return firstTaken(name, options);
}

/**
 * A pool's options as its first call takes them. One that `configure()` did not reach in this copy
 * of the library runs with the defaults, which fail open where the pool was meant to be sandboxed
 * or remote (in the thread that started this one, or in another copy): refused then, else warned of.
 */
function firstTaken(name: string, options: PoolOptions | undefined): PoolOptions {
  if (configuredNames.has(name)) {
    taken.add(name);
    return options!;
  }
  // Sandboxed where this thread was started: here, with the defaults, its code would run unsandboxed.
  if (sandboxedInStartingThread(name)) throw unconfiguredInThread(name);
  const elsewhere = otherCopies().find((copy) => copy.configuredAs(name) !== undefined);
  const as = elsewhere?.configuredAs(name);
  if (elsewhere && as !== 'configured') throw configuredInOtherCopy(name, elsewhere.dir, as);
  // A `{ pool: 'nativ' }` typo would otherwise pass silently, as a pool with default options.
  if (name !== defaultPoolName || elsewhere) {
    warnOnce('RUN_IN_PROCESS_UNCONFIGURED_POOL', name, () =>
      elsewhere
        ? `${poolLabel(name)} was configured through another copy of run-in-process in this process ` +
          `(${elsewhere.dir}), not through this one (${libraryDir}), which declared the code it runs: each copy ` +
          `has pools of its own, so its calls run with the default options. ${oneCopy}`
        : `Pool "${name}" was never configured, so it runs with the default options. Call ` +
          `configure('${name}', { … }) before its first call, or check the name in { pool: '${name}' }.`,
    );
  }
  taken.add(name);
  if (options) return options;
  const defaults: PoolOptions = {};
  optionsByName.set(name, defaults);
  return defaults;
}

const oneCopy =
  `Have the app load one copy (\`npm ls run-in-process\` lists them; \`npm dedupe\`; under pnpm, the same ` +
  `versions of its peers bullmq and ioredis everywhere; Yarn's resolutions), or configure the pool through ` +
  `both copies.`;

function poolLabel(name: string): string {
  return name === defaultPoolName ? 'The default pool' : `Pool "${name}"`;
}

function configuredInOtherCopy(name: string, dir: string, as: 'sandboxed' | 'remote' | undefined): TypeError {
  const what = as === 'sandboxed' ? 'sandboxed (permissions)' : 'remote (a transport)';
  return usageError(
    `${poolLabel(name)} is ${what} in another copy of run-in-process loaded in this process (${dir}), but was ` +
      `never configured through this one (${libraryDir}), which declared the code this call runs: each copy has ` +
      `pools of its own, and here it would run with the default options, ${as === 'sandboxed' ? 'without its sandbox' : 'in a local child'}. ` +
      oneCopy,
  );
}

/**
 * Each thread that loads the library has pools of its own: a worker thread does not see the
 * main thread's `configure()`, and would run a pool it never configured with the default options.
 * For a sandboxed pool that fails open. So the names of this thread's sandboxed pools go to the
 * threads it starts from now on (Node copies a thread's environment data into each new one), where
 * such a pool, left unconfigured, is refused.
 */
const threadsKey = 'run-in-process:sandboxed-pools';

function tellThreads(name: string, sandboxed: boolean): void {
  const { getEnvironmentData, setEnvironmentData } = process.getBuiltinModule('node:worker_threads');
  const names = new Set(getEnvironmentData(threadsKey) as string[] | undefined);
  if (sandboxed) names.add(name);
  else names.delete(name);
  setEnvironmentData(threadsKey, [...names]);
}

function sandboxedInStartingThread(name: string): boolean {
  const { getEnvironmentData, isMainThread } = process.getBuiltinModule('node:worker_threads');
  if (isMainThread) return false;
  const names = getEnvironmentData(threadsKey);
  return Array.isArray(names) && names.includes(name);
}

function unconfiguredInThread(name: string): TypeError {
  return usageError(
    `Pool "${name}" is sandboxed (permissions) in the thread that started this worker thread, but was never ` +
      `configured in this one: each thread has pools of its own, and here it would run with the default options, ` +
      `without its sandbox. Call configure('${name}', { permissions: … }) in this thread too (in a module that both ` +
      `threads import, say).`,
  );
}

/** The scheduler of a pool, started if needed; synchronous once the machinery is loaded. */
function schedulerFor(name: string): Scheduler | Promise<Scheduler> {
  return withScheduler(name, (scheduler) => scheduler);
}

/** Counts a call refused before it reached its pool as failed (pool/pools.ts), once the machinery has loaded. */
export function countRefused(name: string): void | Promise<void> {
  if (machinery) return machinery.countRefused(name);
  return machineryLoaded().then(
    (loaded) => loaded.countRefused(name),
    () => {}, // The call's own error says what went wrong; a pool that cannot load has no stats.
  );
}

/**
 * Hands a pool's scheduler to `use` at once, or as soon as the machinery has loaded: in the same
 * turn as the loading ends, so that a call made before a `shutdown()` reaches its scheduler before
 * that shutdown closes it (shutdown() waits for the same loading, after it).
 */
export function withScheduler<T>(name: string, use: (scheduler: Scheduler) => T): T | Promise<T> {
  if (machinery) return use(machinery.scheduler(name, poolOptions(name)));
  return machineryLoaded().then((loaded) => use(loaded.scheduler(name, poolOptions(name))));
}

/**
 * The pool machinery, loaded once; `machinery` is set before any caller of this hears it loaded. A
 * load that failed (EMFILE on a first call made while the process ran out of descriptors) is tried
 * again by the next call: each caller hears its own failure. (Node 20 keeps a failed import's error
 * for that module, and gives it again; Node 22 and later read the file again.)
 */
function machineryLoaded(): Promise<Machinery> {
  if (!loading) {
    const started = import('../pool/pools.js');
    loading = started;
    started.then(
      (loaded) => {
        machinery = loaded;
      },
      () => {
        if (loading === started) loading = undefined;
      },
    );
  }
  return loading;
}
