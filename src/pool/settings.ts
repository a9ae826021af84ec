import { flagName, inspectorShutFlags, joinNodeOptions, nodeOptionsFlags } from '../node-flags.js';
import { longestTimer, poolDefaults, type PoolOptions, type PoolTransport, wideningFlags } from '../options.js';
import { optionError } from '../errors.js';
import type { ChildSettings } from '../protocol.js';
import { enablesPermissions, isPermissionFlag, permissionFlags } from './local/sandbox.js';

/** A pool's options, checked, with defaults filled in when the pool starts its first child. */
export interface PoolSettings {
  /** The pool's name, for tracing. */
  name: string;
  size: number;
  idleTimeout: number;
  /** Only defined variables: tinypool passes the object as it is. */
  env: Record<string, string>;
  execArgv: string[];
  maxMemoryMb: number | undefined;
  isolate: boolean;
  timeout: number | undefined;
  recycleAfterCalls: number | undefined;
  recycleAboveHeapMb: number | undefined;
  callsPerChild: number;
  /** What the children apply themselves; undefined when nothing is set, which costs nothing to send. */
  child: ChildSettings | undefined;
  startTimeout: number;
  maxQueue: number | undefined;
  recordTiming: boolean;
  minChildren: number;
  /** `file:` URLs each child imports as it starts. */
  preload: string[];
  /**
   * The children run under Node's permission model (the `permissions` option, or the flag in
   * `execArgv`): they can start no sentinel and have no watchdog thread, so the parent's orphan reaper
   * watches them.
   */
  sandboxed: boolean;
  /** A transport given as an option (a remote queue), instead of local child processes. */
  transport: PoolTransport | undefined;
}

const megabyte = 1024 * 1024;

export function resolveSettings(name: string, options: PoolOptions): PoolSettings {
  // A sandboxed pool does not inherit the parent's flags: one of them (`--env-file`, `--allow-*`)
  // could widen what the pool allows. Its flags are the ones it is given.
  const execArgv = withoutDebuggerFlags(options.execArgv ?? (options.permissions ? [] : process.execArgv));
  if (options.maxMemoryMb !== undefined) {
    execArgv.push(`--max-old-space-size=${Math.floor(options.maxMemoryMb)}`);
  }
  if (options.permissions !== undefined) execArgv.push(...permissionFlags(options.permissions));
  execArgv.push(...inspectorShutFlags());
  const { recycleAfterCalls, recycleAboveHeapMb } = options;
  const child: ChildSettings = {
    ...(recycleAfterCalls !== undefined && { recycleAfterCalls }),
    ...(recycleAboveHeapMb !== undefined && { recycleAboveHeapBytes: recycleAboveHeapMb * megabyte }),
    ...(options.recordTiming === true && { timeCalls: true as const }),
  };
  const env = childEnvironment(environmentOf(options));
  // configure() checked the parent's NODE_OPTIONS that envAllow passes on as it was then; it may have
  // changed since, and a sandbox must not start wider than it was configured.
  const widening = options.permissions ? wideningFlags(nodeOptionsFlags(env['NODE_OPTIONS'])) : [];
  if (widening.length > 0) {
    throw optionError(
      `Pool '${name}' has permissions, but the NODE_OPTIONS its children would get (through envAllow) hold ` +
        `${widening.join(' ')}, which would widen its sandbox. Leave NODE_OPTIONS out of envAllow, or set it with env.`,
    );
  }
  return {
    name,
    size: options.size ?? poolDefaults.size(),
    idleTimeout: options.idleTimeout ?? poolDefaults.idleTimeout,
    env,
    execArgv,
    maxMemoryMb: options.maxMemoryMb,
    isolate: options.isolate ?? poolDefaults.isolate,
    timeout: options.timeout,
    recycleAfterCalls,
    recycleAboveHeapMb,
    callsPerChild: options.callsPerChild ?? poolDefaults.callsPerChild,
    child: Object.keys(child).length > 0 ? child : undefined,
    // A remote call may wait in the queue for as long as the workers are busy: no start bound.
    startTimeout: options.startTimeout ?? (options.transport ? longestTimer : poolDefaults.startTimeout),
    maxQueue: options.maxQueue,
    recordTiming: options.recordTiming ?? false,
    minChildren: options.minChildren ?? 0,
    // configure() made them URLs already, against the working directory of then.
    preload: options.preload ?? [],
    sandboxed: execArgv.some(isPermissionFlag) || enablesPermissions(environmentOf(options)['NODE_OPTIONS']),
    transport: options.transport,
  };
}

/**
 * Flags a child must not inherit: a debugger port (children would fight over it), and flags of
 * the parent's own launcher (the test runner, watch mode, `--eval`, `--input-type`) that would change what the
 * child runs. Flags that take their value as the next argument drop that value too.
 */
const droppedFlags = /^--(inspect|debug|test|watch|experimental-test|input-type)|^-(e|p)$|^--(eval|print|check)$/;
const flagsWithValue = new Set([
  '-e',
  '-p',
  '--eval',
  '--print',
  '--inspect-port',
  '--debug-port',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-name-pattern',
  '--test-skip-pattern',
  '--watch-path',
  '--test-concurrency',
  '--test-shard',
  '--test-timeout',
]);

function withoutDebuggerFlags(flags: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i]!;
    if (!droppedFlags.test(flag)) {
      kept.push(flag);
      continue;
    }
    if (flagsWithValue.has(flag)) i++;
  }
  return kept;
}

/**
 * What the children's environment starts from: the parent's whole environment by default; with
 * `envAllow`, only the variables it names (and `env`, which wins); in a sandboxed pool, only what
 * `env` and `envAllow` give, so that secrets in the parent's environment stay out of its reach.
 */
function environmentOf(options: PoolOptions): Record<string, string | undefined> {
  const { env, envAllow, permissions } = options;
  if (envAllow === undefined) return env ?? (permissions === undefined ? process.env : {});
  const allowed: Record<string, string | undefined> = {};
  for (const name of envAllow) allowed[name] = process.env[name];
  return { ...allowed, ...env };
}

/** The children's environment: the variables that are set, `--inspect` taken out of NODE_OPTIONS. */
function childEnvironment(source: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) if (value !== undefined) env[key] = value;
  const nodeOptions = env['NODE_OPTIONS'];
  if (nodeOptions && /--(inspect|debug)/.test(nodeOptions.replaceAll('_', '-'))) {
    env['NODE_OPTIONS'] = joinNodeOptions(
      nodeOptionsFlags(nodeOptions).filter((flag) => !/^--(inspect|debug)/.test(flagName(flag))),
    );
  }
  return env;
}
