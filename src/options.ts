import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isOptionError, optionError } from './errors.js';
import { flagName, nodeOptionsFlags } from './node-flags.js';

/** Options of a decorated method, a decorated class (defaults for its methods) or a wrapped function. */
export interface RunInProcessOptions {
  /** Kill the child and reject with TimeoutError when a call runs longer than this (ms). */
  timeout?: number | undefined;
  /** Run in this named pool (see `configure(name, options)`) instead of the default one. */
  pool?: string | undefined;
  /**
   * The declaring module's URL, when it cannot be read from the call stack (bundles, eval):
   * `{ module: import.meta.url }`. The child imports this module to find the code.
   */
  module?: string | URL | undefined;
  /** Function wrapper only: the id of the function within its module (defaults to `fn.name`). */
  name?: string | undefined;
  /**
   * Calls with a higher priority leave the pool's queue first; FIFO within a priority. A call already
   * sent to a child is never preempted. Default: 0.
   */
  priority?: number | undefined;
  /** For an `async *` method or function: how its items flow (see StreamOptions). */
  stream?: StreamOptions | undefined;
  /**
   * Functions passed as top-level arguments are called back: in the child each is a stub that sends
   * its arguments to this process, which calls the real function (progress reports). Off by default,
   * so that a function passed by mistake still fails with SerializationError. Default: false.
   */
  callbacks?: boolean | undefined;
  /**
   * How remote workers know this target, in place of `<package>:<path>#<Class.method>`: for a module
   * in no package, or a caller that runs `src/*.ts` while workers run `dist/*.js`. On a method or a
   * wrapped function it names that target (`'thumbs/render'`); on a class, its methods are
   * `<id>.<method>`. Caller and workers must agree on it. Used by remote pools only.
   */
  id?: string | undefined;
  /**
   * Run the call again, up to this many times, when the process running it is lost under it: a
   * child that crashed, a remote worker (process or machine) lost, a job its queue lost. Only for
   * idempotent work: the lost attempt may have run, in part or in full. A timeout, an abort or an
   * error thrown by the code is never retried. Not for streams. Default: 0.
   */
  retries?: number | undefined;
}

/** How the items of an `async *` method cross. */
export interface StreamOptions {
  /**
   * The most items the child yields ahead of the consumer: it waits at its `yield` until the
   * consumer takes one. 1 is a local generator's pace; more hides the round trip. Default: 16.
   */
  window?: number | undefined;
  /**
   * Fail with TimeoutError when the generator, free to yield, yields nothing for this long (ms).
   * Time the consumer takes does not count. Default: none (`timeout` bounds the whole stream).
   */
  idleTimeout?: number | undefined;
}

/** Options of a pool: `configure(options)` for the default pool, `configure(name, options)` for a named one. */
export interface PoolOptions {
  /** The most children running at once. Default: `os.availableParallelism()`. */
  size?: number | undefined;
  /** A child idle this long (ms) exits; a new one starts on demand. Default: 10 000. */
  idleTimeout?: number | undefined;
  /**
   * The children's environment. Default: the parent's `process.env` when the pool starts, or, in a
   * pool with `permissions` or `envAllow`, nothing but the variables `envAllow` names.
   */
  env?: Record<string, string | undefined> | undefined;
  /**
   * Names of the parent's variables the children get, and no others (added to `env` when it is
   * given; `env` wins). Default: all of them, or none in a pool with `permissions`.
   */
  envAllow?: string[] | undefined;
  /**
   * Runs the children under Node's permission model (a seat belt, not a security boundary: see the
   * README's "Running untrusted code"). What is not granted is denied where the running Node line can
   * enforce it; the children also start with an empty environment unless `env`/`envAllow` say otherwise.
   */
  permissions?: Permissions | undefined;
  /**
   * Where the pool's calls run, when not in local child processes: a job queue with workers on
   * other machines, `bullmq({ connection })` from `run-in-process/bullmq`. The options that shape
   * local children (size, env, execArgv…) then belong to the workers' `serve()`.
   */
  transport?: PoolTransport | undefined;
  /**
   * The children's Node flags. Default: the parent's `process.execArgv`. The flags of the debugger, the test
   * runner, watch mode and `--eval`/`--print`/`--input-type` are always dropped (a child would open
   * a debugger port, run the tests, watch files or run the parent's code).
   */
  execArgv?: string[] | undefined;
  /** Heap limit of each child in MB (`--max-old-space-size`); a child that exceeds it crashes with outOfMemory. */
  maxMemoryMb?: number | undefined;
  /** Run every call in a fresh process: no state carries over from one call to the next. */
  isolate?: boolean | undefined;
  /** A default timeout (ms) for the pool's calls; a method's or a call's own timeout wins. */
  timeout?: number | undefined;
  /** Replace a child after this many calls, counted as they start; it finishes those it runs first. */
  recycleAfterCalls?: number | undefined;
  /** Replace a child whose heap exceeds this many MB after a call. */
  recycleAboveHeapMb?: number | undefined;
  /**
   * Calls that run in one child at once (default 1). Calls beyond what the children can take wait
   * in the parent and go in batches, so tiny calls in bulk need no more than 1. More lets a child
   * interleave calls that wait on I/O, but a crash then fails every call running on that child.
   * Calls with an AbortSignal, and then calls with a timeout, always get a child to themselves.
   */
  callsPerChild?: number | undefined;
  /**
   * How long a child may take to start a call with a timeout once the call is next in line there
   * (ms). A child that takes longer is stopped or stuck: the call fails with TimeoutError and the
   * child is replaced. Default: 10 000.
   */
  startTimeout?: number | undefined;
  /**
   * The most calls that may wait for a child; one more is refused at once with QueueFullError, so
   * that a server can shed load (answer 503) instead of queueing without bound. Default: no limit.
   */
  maxQueue?: number | undefined;
  /**
   * Children kept alive even when idle, started by `configure()` (or `warmUp()`), so that a first
   * call does not wait for one to boot. At most `size`. Default: 0. Idle children never keep the
   * process alive.
   */
  minChildren?: number | undefined;
  /**
   * Modules each child imports as it starts, before it takes a call: `file:` URLs or paths (relative
   * to the working directory). Default: none.
   */
  preload?: string[] | undefined;
  /**
   * Record how long calls wait for a child and how long they run, for `stats()`. It costs one more
   * message per call (the child says when it starts each call). Default: false.
   */
  recordTiming?: boolean | undefined;
}

/** A transport made by `bullmq()` (run-in-process/bullmq); opaque here. */
export interface PoolTransport {
  readonly kind: 'run-in-process:transport';
  /** For messages: `bullmq (redis://10.0.0.5:6379)`. */
  readonly description: string;
  /** Throws when the transport cannot serve a pool of this name (configure() calls it). */
  checkPool?(name: string): void;
}

/**
 * What the children of a sandboxed pool may do. Paths are files or folders (a folder grants what is
 * under it), relative to the working directory as Node's own flags are.
 */
export interface Permissions {
  /**
   * What they may read. The declaring modules and everything they import must be here; the library
   * adds only its own files and its dependencies. Default: nothing else.
   */
  fsRead?: string[] | undefined;
  /** What they may write. Default: nothing. */
  fsWrite?: string[] | undefined;
  /** Start processes (`--allow-child-process`). Default: false. */
  childProcess?: boolean | undefined;
  /**
   * Start worker threads (`--allow-worker`). Default: false. On Node 22 and later a worker thread is
   * outside the permission model (nodejs/node#62222): granting this opens the seat belt.
   */
  worker?: boolean | undefined;
  /** Load native addons (`--allow-addons`). Default: false. */
  addons?: boolean | undefined;
  /** Use WASI (`--allow-wasi`). Default: false. */
  wasi?: boolean | undefined;
  /**
   * Open network connections (`--allow-net`). Node enforces this only from version 25; below it the
   * network stays open, and `net: false` is refused rather than silently ignored. Default: denied
   * on Node 25 and later, open below.
   */
  net?: boolean | undefined;
}

/** Options of a single call, given through `withCallOptions()`. */
export interface CallOptions {
  /** Abort the call: a queued call is dropped, a running call's child is killed. */
  signal?: AbortSignal | undefined;
  /** A timeout (ms) for this call only. */
  timeout?: number | undefined;
  /** A priority for this call only (see RunInProcessOptions.priority). */
  priority?: number | undefined;
  /** Retries for this call only (see RunInProcessOptions.retries). */
  retries?: number | undefined;
}

export interface ShutdownOptions {
  /** How long to let calls in flight finish before rejecting them with PoolClosedError (ms). Default: 10 000. */
  deadline?: number | undefined;
}

// ── The rules ───────────────────────────────────────────────────────────────────────────────

interface Rule {
  /** What the value must be, for the message: "a positive integer". */
  readonly expected: string;
  readonly accepts: (value: unknown) => boolean;
  /** The value has the right type but not the right size: a RangeError. */
  readonly inRange?: (value: number) => boolean;
  /** An object of options of its own, checked against this table (`stream: { window }`). */
  readonly fields?: { readonly [key: string]: Rule };
}

/** Node clamps a timer of 2³¹ ms or more to 1 ms: a longer limit would fire at once. */
export const longestTimer = 2 ** 31 - 1;

const number = (expected: string, accepts: (n: number) => boolean, max = Number.MAX_SAFE_INTEGER): Rule => ({
  expected,
  accepts: (value) => typeof value === 'number' && !Number.isNaN(value),
  inRange: (n) => accepts(n) && n <= max,
});
const milliseconds = (allowZero: boolean): Rule =>
  number(
    `a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds, at most ${longestTimer} (about 24 days)`,
    (n) => (allowZero ? n >= 0 : n > 0),
    longestTimer,
  );
const positiveInteger = (max = Number.MAX_SAFE_INTEGER): Rule =>
  number(
    `a positive integer${max < Number.MAX_SAFE_INTEGER ? ` of at most ${max}` : ''}`,
    (n) => Number.isInteger(n) && n > 0,
    max,
  );
const positiveNumber: Rule = number('a positive number', (n) => n > 0 && Number.isFinite(n));
const boolean: Rule = { expected: 'true or false', accepts: (value) => typeof value === 'boolean' };
const name: Rule = { expected: 'a non-empty string', accepts: (value) => typeof value === 'string' && value !== '' };
const moduleUrl: Rule = {
  expected: 'a URL string such as import.meta.url',
  accepts: (value) => typeof value === 'string' || value instanceof URL,
};
/**
 * An array with no hole (`every()` skips holes: `[, 'x']` would pass) whose items all pass: strings
 * that reach a process's arguments or environment cannot hold a NUL character, which Node refuses
 * only when it starts a child, far from the option that held it.
 */
function arrayOf(accepts: (item: unknown) => boolean): (value: unknown) => boolean {
  return (value) => {
    if (!Array.isArray(value)) return false;
    // By index, stopping at the first hole: a length of 2³² − 1 is not walked to the end.
    for (let index = 0; index < value.length; index++) if (!(index in value) || !accepts(value[index])) return false;
    return true;
  };
}
const cleanString = (item: unknown): item is string => typeof item === 'string' && !item.includes('\0');
const strings: Rule = {
  expected: "an array of strings such as ['--import', 'tsx'] (no NUL character)",
  accepts: arrayOf(cleanString),
};
const environment: Rule = {
  expected: "an object whose values are strings (no NUL character), such as { ...process.env, DEBUG: '1' }",
  // Not an array, a Map or a Date, which have no entries a child could use and would start it with
  // none; any object else, of any realm (a vm context's, a test runner's), process.env among them.
  accepts: (value) =>
    typeof value === 'object' &&
    value !== null &&
    Object.prototype.toString.call(value) === '[object Object]' &&
    Object.entries(value).every(([key, item]) => !key.includes('\0') && (item === undefined || cleanString(item))),
};
const abortSignal: Rule = { expected: 'an AbortSignal', accepts: (value) => value instanceof AbortSignal };

/** Below this heap limit (`--max-old-space-size`) Node 22 and 24 fail as they boot, out of memory. */
const smallestHeapMb = 8;

/** The most children a pool may have: far more than any machine's cores, and little enough to start. */
export const largestPool = 1024;

type Table<T> = { readonly [K in keyof Required<T>]: Rule };

// A number that is not finite is out of range (a RangeError), as for every other number here.
const priority: Rule = number(
  `a number from ${-Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER} (higher goes first)`,
  (n) => n >= -Number.MAX_SAFE_INTEGER,
);

/** More would hide a call that fails every time; a loop of its own is clearer for that. */
const mostRetries = 100;
const retries: Rule = number(
  `a whole number from 0 to ${mostRetries}`,
  (n) => Number.isInteger(n) && n >= 0,
  mostRetries,
);

const streamRules: Table<StreamOptions> = {
  window: positiveInteger(2 ** 20),
  idleTimeout: milliseconds(false),
};

const runRules: Table<RunInProcessOptions> = {
  timeout: milliseconds(false),
  pool: name,
  module: moduleUrl,
  name,
  priority,
  stream: {
    expected: 'an object like { window: 16, idleTimeout: 5000 }',
    accepts: (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    fields: streamRules,
  },
  callbacks: boolean,
  id: name,
  retries,
};
const poolRules: Table<PoolOptions> = {
  size: positiveInteger(largestPool),
  idleTimeout: milliseconds(true),
  env: environment,
  execArgv: strings,
  maxMemoryMb: number(
    `a number of MiB, at least ${smallestHeapMb} (a child with less cannot even boot)`,
    (n) => n >= smallestHeapMb && Number.isFinite(n),
  ),
  isolate: boolean,
  timeout: milliseconds(false),
  recycleAfterCalls: positiveInteger(),
  recycleAboveHeapMb: positiveNumber,
  callsPerChild: positiveInteger(largestPool),
  startTimeout: milliseconds(false),
  maxQueue: number('a whole number, 0 or more', (n) => Number.isInteger(n) && n >= 0),
  minChildren: number(`a whole number from 0 to ${largestPool}`, (n) => Number.isInteger(n) && n >= 0, largestPool),
  preload: {
    expected: "an array of module URLs or paths, such as [import.meta.resolve('./warm.js')]",
    accepts: arrayOf((item) => cleanString(item) && item !== ''),
  },
  recordTiming: boolean,
  envAllow: {
    expected: "an array of variable names, such as ['PATH', 'HOME']",
    accepts: arrayOf((item) => cleanString(item) && item !== ''),
  },
  transport: {
    expected: 'a transport such as bullmq({ connection }) from run-in-process/bullmq',
    // Made by the library (bullmq()): an object that only looks like one has no way to make a transport.
    accepts: (value) =>
      typeof value === 'object' &&
      value !== null &&
      (value as { kind?: unknown }).kind === 'run-in-process:transport' &&
      typeof (value as { createTransport?: unknown }).createTransport === 'function',
  },
  permissions: {
    expected: "an object such as { fsRead: ['./plugins'] }",
    accepts: (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  },
};
const paths: Rule = {
  expected: "an array of paths, such as ['./plugins'] (no empty string, no NUL character)",
  accepts: arrayOf((item) => cleanString(item) && item !== ''),
};
const permissionRules: Table<Permissions> = {
  fsRead: paths,
  fsWrite: paths,
  childProcess: boolean,
  worker: boolean,
  addons: boolean,
  wasi: boolean,
  net: boolean,
};
const callRules: Table<CallOptions> = { signal: abortSignal, timeout: milliseconds(false), priority, retries };
const shutdownRules: Table<ShutdownOptions> = { deadline: milliseconds(true) };

/** The pool of a target that names none, and of `configure(options)`. */
export const defaultPoolName = 'default';

/** The defaults of the options that have one, filled in when a pool starts. */
export const poolDefaults = {
  size: () => availableParallelism(),
  idleTimeout: 10_000,
  isolate: false,
  callsPerChild: 1,
  startTimeout: 10_000,
  deadline: 10_000,
  streamWindow: 16,
} as const;

// ── Checking ────────────────────────────────────────────────────────────────────────────────

/**
 * Checks an options object against its table: an object, only known keys, each value as its rule
 * says. `where` names the call in the message (`configure('native', options)`), `example` shows a
 * valid object. Returns a copy of what was checked, each value read once: changing the caller's
 * object afterwards (or a getter that answers differently the second time) changes nothing.
 */
function check<T extends object>(rules: Table<T>, options: unknown, where: string, example: string, prefix = ''): T {
  if (options === undefined) return {} as T;
  try {
    return checkOwn(rules, options, where, example, prefix);
  } catch (error) {
    throw readFailure(error, where, prefix ? `the ${prefix.slice(0, -1)} options` : 'the options');
  }
}

/** A getter or a Proxy trap of the caller's that threw: said as a bad option, its error the cause. */
function readFailure(error: unknown, where: string, what: string): unknown {
  if (isOptionError(error)) return error;
  return Object.assign(
    optionError(
      `${where}: reading ${what} threw (${thrownText(error)}): a getter or a Proxy in the object given. ` +
        `Pass a plain object of values.`,
    ),
    { cause: error },
  );
}

/** check()'s walk of an options object: only known own keys, each value as its rule says, read once. */
function checkOwn<T extends object>(
  rules: Table<T>,
  options: unknown,
  where: string,
  example: string,
  prefix: string,
): T {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw optionError(`${where}: options must be an object like ${example} (got ${describe(options)}).`);
  }
  // Only own keys are read: a Map's entries, or options inherited from a prototype, would be ignored.
  if (options instanceof Map || options instanceof Set) {
    throw optionError(`${where}: options must be an object like ${example}, not ${describe(options)}.`);
  }
  for (const key in options) {
    if (Object.hasOwn(options, key) || !Object.hasOwn(rules, key)) continue;
    throw optionError(
      `${where}: ${prefix}${key} is inherited from the options' prototype, and only their own keys are read. ` +
        `Pass a plain copy ({ ...options }).`,
    );
  }
  const checked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    // Own keys of the table only: `constructor` or `toString` are not options.
    const rule = Object.hasOwn(rules, key) ? (rules as Record<string, Rule>)[key] : undefined;
    if (!rule) {
      throw optionError(
        `${where}: unknown option "${prefix}${key}". Known options${prefix ? ` of ${prefix.slice(0, -1)}` : ''}: ` +
          `${Object.keys(rules).join(', ')}.`,
      );
    }
    if (value === undefined) continue;
    try {
      const typed = rule.accepts(value);
      if (!typed || (rule.inRange && !rule.inRange(value as number))) {
        throw optionError(`${where}: ${prefix}${key} must be ${rule.expected} (got ${describe(value)}).`, typed);
      }
      checked[key] = rule.fields ? check(rule.fields, value, where, rule.expected, `${prefix}${key}.`) : copied(value);
    } catch (error) {
      throw readFailure(error, where, `option ${prefix}${key}`);
    }
  }
  return checked as T;
}

/** Arrays and plain records (execArgv, env) are copied too; a URL or an AbortSignal is kept as it is. */
function copied(value: unknown): unknown {
  if (Array.isArray(value)) return [...value];
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return { ...value };
  }
  return value;
}

/** What `serve()` (remote/worker.ts) is given, as far as its shape can be checked here. */
interface ServeShape {
  transport: unknown;
  pool: string;
  modules: string[];
  poolOptions?: unknown;
  concurrency?: number;
  onConnectionError?: unknown;
  onConnectionRestored?: unknown;
  signal?: AbortSignal;
}

const serveRules: Table<ServeShape> = {
  transport: {
    expected: "the callers' transport, bullmq({ connection }) from run-in-process/bullmq",
    accepts: (value) =>
      typeof value === 'object' &&
      value !== null &&
      (value as { kind?: unknown }).kind === 'run-in-process:transport' &&
      typeof (value as { settings?: unknown }).settings === 'object',
  },
  pool: name,
  modules: {
    expected: "a non-empty array of module paths or URLs, such as ['./dist/render.js']",
    accepts: (value) =>
      Array.isArray(value) && value.length > 0 && arrayOf((item) => cleanString(item) && item !== '')(value),
  },
  poolOptions: {
    expected: 'an object of pool options, such as { size: 4 }',
    accepts: (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  },
  concurrency: positiveInteger(),
  onConnectionError: { expected: 'a function', accepts: (value) => typeof value === 'function' },
  onConnectionRestored: { expected: 'a function', accepts: (value) => typeof value === 'function' },
  signal: abortSignal,
};

/** serve()'s options: an object with a transport, a pool and modules, and nothing it does not know. */
export function checkServeOptions(options: unknown): void {
  const example = "{ transport: bullmq({ connection }), pool: 'render', modules: ['./dist/render.js'] }";
  if (options === undefined)
    throw optionError(`serve(options): options must be an object like ${example} (got undefined).`);
  const checked = check(serveRules, options, 'serve(options)', example);
  const missing = (['transport', 'pool', 'modules'] as const).filter((key) => checked[key] === undefined);
  if (missing.length > 0) {
    throw optionError(
      `serve(options): ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing. Give them as in ${example}.`,
    );
  }
}

/**
 * Linux starts no process given an environment string or an argument of 128 KiB or more (E2BIG,
 * MAX_ARG_STRLEN): every child of the pool would fail to fork, and tinypool, left in a state it
 * does not recover from, failed each later call with a TypeError of its own.
 */
function checkArgumentLengths(options: PoolOptions, where: string): void {
  if (process.platform !== 'linux') return;
  const longest = 128 * 1024;
  const entries: Array<[string, string]> = [
    ...Object.entries(options.env ?? {}).flatMap(
      ([key, value]): Array<[string, string]> =>
        value === undefined ? [] : [[`env[${describe(key)}]`, `${key}=${value}`]],
    ),
    ...(options.execArgv ?? []).map((flag, index): [string, string] => [`execArgv[${index}]`, flag]),
  ];
  for (const [name, text] of entries) {
    const bytes = Buffer.byteLength(text) + 1;
    if (bytes < longest) continue;
    throw optionError(
      `${where}: ${name} takes ${bytes} bytes, and Linux starts no process with an environment string or an ` +
        `argument of 128 KiB or more (E2BIG): no child could start. Pass large data as a call's argument, or in a file.`,
      true,
    );
  }
}

export const checkRunOptions = (options: unknown, where: string): RunInProcessOptions =>
  check(runRules, options, where, '{ timeout: 5000 }');
export function checkPoolOptions(options: unknown, where: string): PoolOptions {
  const checked = check(poolRules, options, where, '{ size: 4 }');
  const size = checked.size ?? poolDefaults.size();
  if (checked.minChildren !== undefined && checked.minChildren > size) {
    throw optionError(
      `${where}: minChildren (${checked.minChildren}) is above size (${size}${checked.size === undefined ? ', the default' : ''}). ` +
        `Raise size, or keep fewer children warm.`,
      true,
    );
  }
  checkArgumentLengths(checked, where);
  const lastFlag = checked.execArgv?.at(-1);
  if (lastFlag !== undefined && flagsWithValue.has(lastFlag)) {
    throw optionError(
      `${where}: execArgv ends with ${lastFlag}, which takes a value: Node would take the child's own script for ` +
        `it, and the child would never start. Give it one (['${lastFlag}', '<value>'], or '${lastFlag}=<value>').`,
      false,
    );
  }
  if (checked.transport !== undefined) refuseLocalOnlyOptions(checked, where);
  if (checked.permissions !== undefined) {
    const permissions = check(
      permissionRules,
      checked.permissions,
      `${where}: permissions`,
      "{ fsRead: ['./plugins'] }",
    );
    checkNetworkIsEnforceable(permissions, where);
    checkNoWideningFlags(checked, where);
    checkNoWideningVariables(checked, where);
    // Relative paths mean the working directory of now, as they would for Node's own flags.
    if (permissions.fsRead) permissions.fsRead = permissions.fsRead.map((path) => resolve(path));
    if (permissions.fsWrite) permissions.fsWrite = permissions.fsWrite.map((path) => resolve(path));
    checked.permissions = permissions;
  }
  if (checked.preload) checked.preload = checked.preload.map(asModuleUrl);
  return checked;
}

/** Node flags that take the next argument as their value when not given one with `=`. */
const flagsWithValue = new Set([
  '--import',
  '--require',
  '-r',
  '--loader',
  '--experimental-loader',
  '--conditions',
  '-C',
  '--env-file',
  '--title',
]);

/** Options of local child processes: a remote pool's workers take them in `serve()`, where the children run. */
const localOnly = [
  'size',
  'idleTimeout',
  'env',
  'envAllow',
  'execArgv',
  'maxMemoryMb',
  'isolate',
  'recycleAfterCalls',
  'recycleAboveHeapMb',
  'callsPerChild',
  'minChildren',
  'preload',
  'permissions',
] as const;

function refuseLocalOnlyOptions(options: PoolOptions, where: string): void {
  const given = localOnly.filter((key) => options[key] !== undefined);
  if (given.length === 0) return;
  // Not to be given to the workers either: serve() refuses a sandbox (remote/worker.ts sandboxRefused).
  if (options.permissions !== undefined) {
    throw optionError(
      `${where}: permissions sandbox local child processes, and this pool's calls run through ` +
        `${options.transport?.description}, whose workers import the modules they serve in their own process, ` +
        `outside any sandbox. Run untrusted plugins in a local pool with permissions; serve only trusted code remotely.`,
    );
  }
  throw optionError(
    `${where}: ${given.join(', ')} shape${given.length === 1 ? 's' : ''} local child processes, but this pool's calls run ` +
      `through ${options.transport?.description}: give ${given.length === 1 ? 'it' : 'them'} to the workers instead ` +
      `(serve({ …, poolOptions }) or the worker command's flags).`,
  );
}

/** A path (relative to the working directory) or a URL, as a URL a child can import. */
export function asModuleUrl(pathOrUrl: string): string {
  return /^[a-z][a-z0-9+.-]+:/i.test(pathOrUrl) && !/^[a-z]:[\\/]/i.test(pathOrUrl)
    ? pathOrUrl
    : pathToFileURL(resolve(pathOrUrl)).href;
}

/**
 * Flags that would widen a sandboxed pool from inside: its own permission flags (and
 * `--permission-audit`, which only warns), a file of variables or of options read before the model
 * applies (`--env-file`, a config file), the inspector, node:sqlite and Web Storage (which open
 * files outside the model: `--localstorage-file` wrote where `fsWrite` denied it), files that Node
 * itself writes from native code (profiles, perf maps, heap snapshots, reports, trace logs, TLS
 * keys: `--prof`, `--perf-*`, `--cpu-prof`, `--heap-prof` and their folder and name, `--heapsnapshot-*`,
 * the `--report-*` flags that turn reports on or say where, `--diagnostic-dir`, `--trace-event*`,
 * `--tls-keylog`, V8's `--log*` and `--logfile`, and its flags that dump code, graphs or counters
 * (`--trace-turbo*`, `--redirect-code-traces*`, `--dump-wasm-module*`, `--gdbjit-dump*`…),
 * `--redirect-warnings`; not their tuning flags, which write nothing), an
 * OpenSSL configuration (`--openssl-config`: it loads native providers, outside `addons: false`), Node's internals, a startup snapshot. In `execArgv` or in the children's
 * `NODE_OPTIONS` (`env`, or the parent's through `envAllow`). A list of what is known to widen: a
 * flag Node adds later may be missing from it.
 */
const wideningFlag =
  /^--(allow-[a-z-]+|(experimental-)?permission(-[a-z-]+)?|env-file(-if-exists)?|inspect[a-z-]*|experimental-sqlite|(experimental-)?webstorage|localstorage-file|(ll-)?prof(-cpp)?|perf-[a-z-]+|(cpu|heap)-prof(-dir|-name)?|heapsnapshot-[a-z-]+|report-(on-signal|uncaught-exception|on-fatalerror|directory|dir|filename)|diagnostic-dir|trace-event[a-z-]*|trace-events-enabled|tls-keylog|log[a-z-]*|redirect-warnings|trace-turbo[a-z-]*|redirect-code-traces[a-z-]*|dump-wasm-module[a-z-]*|experimental-wasm-pgo-to-file|map-counters|gdbjit-dump[a-z-]*|turbo-profiling-output|heap-snapshot-on-oom|openssl-config|(experimental-)?(default-)?config-file|expose-internals|snapshot-blob|build-snapshot)$/;

/** The flags among these that would widen a sandboxed pool (wideningFlag), as given. */
export function wideningFlags(flags: readonly string[]): string[] {
  return flags.filter((flag) => wideningFlag.test(flagName(flag)));
}

function checkNoWideningFlags(options: PoolOptions, where: string): void {
  // The parent's NODE_OPTIONS reaches the children through envAllow when env does not set it.
  const inherited = options.envAllow?.includes('NODE_OPTIONS') ? process.env['NODE_OPTIONS'] : undefined;
  const nodeOptions = nodeOptionsFlags(options.env?.['NODE_OPTIONS'] ?? inherited);
  const given = wideningFlags([...(options.execArgv ?? []), ...nodeOptions]);
  if (given.length === 0) return;
  throw optionError(
    `${where}: ${given.join(' ')} would widen the sandbox of a pool with permissions (in its execArgv or NODE_OPTIONS). ` +
      `Grant what the children need through the permissions option instead, and pass variables with env or envAllow.`,
  );
}

/**
 * Variables that widen a sandboxed child before any of its JavaScript runs, given through `env` or
 * passed on from the parent through `envAllow`: the dynamic loader's (`LD_PRELOAD` loads native code
 * into the child, outside `addons: false`), OpenSSL's configuration and modules (providers are native
 * code), and files Node itself writes (coverage, its compile cache, warnings).
 */
const wideningVariable =
  /^(LD_[A-Z_]+|DYLD_[A-Z_]+|OPENSSL_(CONF|MODULES|ENGINES)|NODE_V8_COVERAGE|NODE_COMPILE_CACHE|NODE_REDIRECT_WARNINGS)$/;

function checkNoWideningVariables(options: PoolOptions, where: string): void {
  const given = [...Object.keys(options.env ?? {}), ...(options.envAllow ?? [])].filter((name) =>
    wideningVariable.test(name),
  );
  if (given.length === 0) return;
  throw optionError(
    `${where}: ${[...new Set(given)].join(', ')} would widen the sandbox of a pool with permissions (given in env, ` +
      `or passed on through envAllow): it loads native code or writes files before the permission model applies. ` +
      `Leave it out of a sandboxed pool's environment.`,
  );
}

/** The first Node line whose permission model covers the network (`--allow-net`). */
export const networkPermissionSince = 25;

/** `net: false` where Node cannot deny the network would be a seat belt that is not there. */
function checkNetworkIsEnforceable(permissions: Permissions, where: string): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (permissions.net !== false || major >= networkPermissionSince) return;
  throw optionError(
    `${where}: permissions.net is false, but Node ${process.version} cannot deny the network to a child: ` +
      `its permission model covers the network only from Node ${networkPermissionSince} (--allow-net). ` +
      `Leave net out (the network stays open, as documented), or run on Node ${networkPermissionSince} or later.`,
    true,
  );
}
export const checkCallOptions = (options: unknown, where: string): CallOptions =>
  check(callRules, options, where, '{ signal, timeout: 2000 }');
export const checkShutdownOptions = (options: unknown, where: string): ShutdownOptions =>
  check(shutdownRules, options, where, '{ deadline: 5000 }');

function describe(value: unknown): string {
  // What describes it may be a getter or a Proxy's trap that throws: that must not replace the message.
  try {
    return described(value);
  } catch {
    return typeof value === 'function' ? 'a function' : typeof value === 'object' ? 'an object' : typeof value;
  }
}

/** A thrown value's message, read so that a throwing `message` getter cannot throw again. */
function thrownText(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : describe(error);
  } catch {
    return describe(error);
  }
}
function described(value: unknown): string {
  // Cut short: a string given by mistake may be megabytes long (a file's content for a path).
  if (typeof value === 'string')
    return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}…` : JSON.stringify(value);
  if (typeof value === 'function') return `a function ${value.name}`.trimEnd();
  if (Array.isArray(value)) return `[${value.slice(0, 5).map(describe).join(', ')}${value.length > 5 ? ', …' : ''}]`;
  if (typeof value === 'object' && value !== null) {
    const name = value.constructor?.name;
    if (!name || name === 'Object') return 'an object';
    return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
  }
  return String(value);
}
