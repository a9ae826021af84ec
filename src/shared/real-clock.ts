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
// `let`: the library's own unit tests point them at node:test's mock timers (timersOfGlobals).
let realSetTimeout = globalThis.setTimeout;
let realClearTimeout = globalThis.clearTimeout;
let realSetImmediate = globalThis.setImmediate;
let realSetInterval = globalThis.setInterval;
let realClearInterval = globalThis.clearInterval;
// Jest's fake timers take these two as well, by default.
const realQueueMicrotask = globalThis.queueMicrotask;
const realNextTick = process.nextTick.bind(process);
const performanceNow = performance.now.bind(performance);
const dateNow = Date.now;

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
