import { availableParallelism } from 'node:os';
import { checkTimeout, type PoolOptions } from '../options.js';

/** A pool's options, checked, with defaults filled in when the pool starts its first child. */
export interface PoolSettings {
  size: number;
  idleTimeout: number;
  env: Record<string, string | undefined>;
  execArgv: string[];
  maxMemoryMb: number | undefined;
  isolate: boolean;
  timeout: number | undefined;
  recycleAfterCalls: number | undefined;
  recycleAboveHeapMb: number | undefined;
  callsPerChild: number;
}

const knownOptions = [
  'size',
  'idleTimeout',
  'env',
  'execArgv',
  'maxMemoryMb',
  'isolate',
  'timeout',
  'recycleAfterCalls',
  'recycleAboveHeapMb',
  'callsPerChild',
];

export function checkPoolOptions(options: unknown, where: string): PoolOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${where}: options must be an object like { size: 4 } (got ${String(options)}).`);
  }
  for (const key of Object.keys(options)) {
    if (!knownOptions.includes(key)) {
      throw new TypeError(`${where}: unknown option "${key}". Known options: ${knownOptions.join(', ')}.`);
    }
  }
  const o = options as PoolOptions;
  positiveInteger(o.size, 'size', where);
  positiveInteger(o.recycleAfterCalls, 'recycleAfterCalls', where);
  positiveInteger(o.callsPerChild, 'callsPerChild', where);
  positiveNumber(o.idleTimeout, 'idleTimeout', where, true);
  positiveNumber(o.maxMemoryMb, 'maxMemoryMb', where);
  positiveNumber(o.recycleAboveHeapMb, 'recycleAboveHeapMb', where);
  checkTimeout(o.timeout, where);
  if (o.isolate !== undefined && typeof o.isolate !== 'boolean') {
    throw new TypeError(`${where}: isolate must be true or false (got ${String(o.isolate)}).`);
  }
  if (o.execArgv !== undefined && !(Array.isArray(o.execArgv) && o.execArgv.every((a) => typeof a === 'string'))) {
    throw new TypeError(`${where}: execArgv must be an array of strings such as ['--import', 'tsx'].`);
  }
  if (o.env !== undefined && (typeof o.env !== 'object' || o.env === null)) {
    throw new TypeError(`${where}: env must be an object of strings, such as { ...process.env, DEBUG: '1' }.`);
  }
  return o;
}

export function resolveSettings(options: PoolOptions): PoolSettings {
  const execArgv = withoutDebuggerFlags(options.execArgv ?? process.execArgv);
  if (options.maxMemoryMb !== undefined) {
    execArgv.push(`--max-old-space-size=${Math.floor(options.maxMemoryMb)}`);
  }
  return {
    size: options.size ?? availableParallelism(),
    idleTimeout: options.idleTimeout ?? 10_000,
    env: withoutDebuggerInNodeOptions(options.env ?? process.env),
    execArgv,
    maxMemoryMb: options.maxMemoryMb,
    isolate: options.isolate ?? false,
    timeout: options.timeout,
    recycleAfterCalls: options.recycleAfterCalls,
    recycleAboveHeapMb: options.recycleAboveHeapMb,
    callsPerChild: options.callsPerChild ?? 1,
  };
}

/**
 * Flags a child must not inherit: a debugger port (children would fight over it), and flags of
 * the parent's own launcher (the test runner, watch mode, `--eval`, `--input-type`) that would change what the
 * child runs. Flags that take their value as the next argument drop that value too.
 */
const droppedFlags = /^--(inspect|debug|test|watch|experimental-test|input-type)|^-(e|p)$|^--(eval|print|check)$/;
const flagsWithValue = new Set(['-e', '-p', '--eval', '--print', '--inspect-port', '--debug-port', '--test-reporter', '--test-reporter-destination', '--test-name-pattern', '--test-skip-pattern', '--watch-path', '--test-concurrency', '--test-shard', '--test-timeout']);

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

function withoutDebuggerInNodeOptions(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const nodeOptions = env['NODE_OPTIONS'];
  if (!nodeOptions || !/--inspect|--debug/.test(nodeOptions)) return { ...env };
  const kept = nodeOptions.split(/\s+/).filter((flag) => !/^--(inspect|debug)/.test(flag));
  return { ...env, NODE_OPTIONS: kept.join(' ') };
}

function positiveInteger(value: unknown, name: string, where: string): void {
  if (value !== undefined && !(Number.isInteger(value) && (value as number) > 0)) {
    throw new RangeError(`${where}: ${name} must be a positive integer (got ${String(value)}).`);
  }
}

function positiveNumber(value: unknown, name: string, where: string, allowZero = false): void {
  if (value === undefined) return;
  const ok = typeof value === 'number' && Number.isFinite(value) && (allowZero ? value >= 0 : value > 0);
  if (!ok) throw new RangeError(`${where}: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number (got ${String(value)}).`);
}
