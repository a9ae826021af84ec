import { performance as realPerformance } from 'node:perf_hooks';
import { runInThisContext } from 'node:vm';
import * as nodeTimers from 'node:timers';
/**
 * Timers and clocks as they were when the library loaded, which the library uses in place of the
 * globals. A test's fake timers (vitest's and jest's `useFakeTimers()`, sinon's, node:test's
 * `mock.timers`) replace the globals after that, to run the test's own code on a clock the test
 * moves; the pool's timers must keep real time: a call's timeout, shutdown()'s deadline, a child's
 * start timeout, a batch closed at the next turn. Under vitest's fake timers a call with a timeout
 * waited for its child however long that took, and `shutdown()` waited for ever.
 *
 * Biome refuses those globals in every other file of src/ (biome.json, noRestrictedGlobals).
 */
/**
 * Fake timers installed before the library loaded are seen through. @sinonjs/fake-timers (sinon's,
 * and under vitest's and jest's `useFakeTimers()`) marks each function it installs with its clock,
 * and keeps what it replaced on that clock, as `_<name>`. It replaces the globals, and `node:timers`'
 * exports too (from version 11: the review that found it had 11 and 15), not what `node:process`
 * gives a sandbox of jest's (a process object of its own there).
 */
const isFake = (fn: unknown): boolean => typeof fn === 'function' && 'clock' in fn;

/** `fn`, or what fake timers replaced with it, if they kept it. */
export function unfakedAs<T>(fn: T, name: string): T {
  if (!isFake(fn)) return fn;
  const kept = (fn as { clock?: Record<string, unknown> }).clock?.[`_${name}`];
  return typeof kept === 'function' && !isFake(kept) ? (kept as T) : fn;
}

/**
 * Node's own process object, whose `nextTick` Node's IPC with a child calls. Not `process`, nor what
 * `node:process` gives, in a sandbox of jest's, where both are a copy of it, whose `nextTick` jest's
 * fake timers replace alone (calls work there). Read in this process's main context, where the
 * global `process` is Node's.
 */
const nodeProcess = ((): NodeJS.Process => {
  try {
    return runInThisContext('process') as NodeJS.Process;
  } catch {
    return process;
  }
})();
/** The global, what fake timers replaced with it, or `node:timers`' export (other fakes replace only the globals). */
function unfaked<T>(global: T, module: T, name: string): T {
  const kept = unfakedAs(global, name);
  return isFake(kept) && !isFake(module) ? module : kept;
}

// `let`: the library's own unit tests point them at node:test's mock timers (timersOfGlobals).
let realSetTimeout = unfaked(globalThis.setTimeout, nodeTimers.setTimeout, 'setTimeout');
let realClearTimeout = unfaked(globalThis.clearTimeout, nodeTimers.clearTimeout, 'clearTimeout');
let realSetImmediate = unfaked(globalThis.setImmediate, nodeTimers.setImmediate, 'setImmediate');
let realSetInterval = unfaked(globalThis.setInterval, nodeTimers.setInterval, 'setInterval');
let realClearInterval = unfaked(globalThis.clearInterval, nodeTimers.clearInterval, 'clearInterval');
// Jest's fake timers take these two as well, by default.
const realQueueMicrotask = unfakedAs(globalThis.queueMicrotask, 'queueMicrotask');
const realNextTick = unfakedAs(nodeProcess.nextTick, 'nextTick').bind(nodeProcess);
// The prototype's: fake timers replace the global `performance` with an object of theirs, and give
// perf_hooks' own a `now` of its own (@sinonjs/fake-timers 15), leaving the prototype's as it was.
const prototypeNow = (Object.getPrototypeOf(realPerformance) as { now?: () => number } | null)?.now;
const performanceNow = (typeof prototypeNow === 'function' ? prototypeNow : realPerformance.now).bind(realPerformance);
const dateNow = unfakedAs(Date, 'Date').now;

/**
 * Whether fake timers replaced Node's own `process.nextTick` (sinon's `useFakeTimers()` does unless
 * told not to; so does vitest's with `toFake: ['nextTick']` in a worker thread). Node's IPC with a
 * child waits on it: no call could reach its child, nor be answered, and calls hung, or failed as
 * not started by a stuck child after startTimeout (a review's). Jest's fake only its sandbox's copy.
 */
export function nextTickIsFaked(): boolean {
  return isFake(nodeProcess.nextTick);
}

export {
  realQueueMicrotask as queueMicrotask,
  realClearInterval as clearInterval,
  realClearTimeout as clearTimeout,
  realSetImmediate as setImmediate,
  realSetInterval as setInterval,
  realSetTimeout as setTimeout,
};

/**
 * For the library's own unit tests, which move time with node:test's `mock.timers` to test a grace
 * or a deadline: the library uses the timers that the globals hold now, until the function returned
 * puts the real ones back. (`@public` tells knip: the tests import it from the build, by path.)
 * @public
 */
export function timersOfGlobals(): () => void {
  const real = [realSetTimeout, realClearTimeout, realSetImmediate, realSetInterval, realClearInterval] as const;
  realSetTimeout = globalThis.setTimeout;
  realClearTimeout = globalThis.clearTimeout;
  realSetImmediate = globalThis.setImmediate;
  realSetInterval = globalThis.setInterval;
  realClearInterval = globalThis.clearInterval;
  return () => {
    [realSetTimeout, realClearTimeout, realSetImmediate, realSetInterval, realClearInterval] = real;
  };
}

/** `process.nextTick()`, as this process had it. */
export function nextTick(callback: () => void): void {
  realNextTick(callback);
}

/** `performance.now()`: this process's monotonic clock, in ms. */
export function perfNow(): number {
  return performanceNow();
}

/** `Date.now()`: the wall clock, as Redis's timestamps are. */
export function wallNow(): number {
  return dateNow();
}

/** `node:timers/promises`' `setTimeout`, on the real timers (node:test's mock.timers replaces that one too). */
export function sleep<T = void>(ms: number, value?: T, options: { ref?: boolean } = {}): Promise<T> {
  return new Promise((resolve) => {
    const timer = realSetTimeout(() => resolve(value as T), ms);
    if (options.ref === false) timer.unref();
  });
}
