// runInProcess(fn): the wrapper keeps fn's parameters and returns a promise of its awaited result.
import { type OffloadedFunction, runInProcess } from 'run-in-process';
import { assertType, type Equal } from './helpers.js';

function add(a: number, b: number): number {
  return a + b;
}
async function fetchName(id: string, options?: { upper?: boolean }): Promise<string> {
  return options?.upper ? id.toUpperCase() : id;
}
function nothing(): void {}

export const offloadedAdd = runInProcess(add);
export const offloadedFetch = runInProcess(fetchName, { timeout: 100, pool: 'io', name: 'fetchName' });
export const offloadedNothing = runInProcess(nothing, { module: import.meta.url });
export const offloadedWithUrl = runInProcess(
  function withUrl(n: bigint) {
    return n;
  },
  { module: new URL(import.meta.url) },
);

// The exact documented shape: (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>.
assertType<Equal<typeof offloadedAdd, (...args: Parameters<typeof add>) => Promise<Awaited<ReturnType<typeof add>>>>>();
assertType<Equal<typeof offloadedAdd, OffloadedFunction<typeof add>>>();
assertType<Equal<Parameters<typeof offloadedAdd>, [a: number, b: number]>>();
assertType<Equal<ReturnType<typeof offloadedAdd>, Promise<number>>>();
// An async function's promise is not nested: Promise<string>, not Promise<Promise<string>>.
assertType<Equal<ReturnType<typeof offloadedFetch>, Promise<string>>>();
assertType<Equal<Parameters<typeof offloadedFetch>, [id: string, options?: { upper?: boolean }]>>();
assertType<Equal<ReturnType<typeof offloadedNothing>, Promise<void>>>();
assertType<Equal<typeof offloadedWithUrl, (n: bigint) => Promise<bigint>>>();
// A function that never returns (an unsafe native call that may crash) gives a promise, not a generator.
export const crashes = runInProcess(function crashes(code: number): never {
  process.exit(code);
});
assertType<Equal<typeof crashes, (code: number) => Promise<never>>>();

export async function use(): Promise<void> {
  const sum: number = await offloadedAdd(1, 2);
  const name: string = await offloadedFetch('a');
  const upper: string = await offloadedFetch('a', { upper: true });
  void [sum, name, upper];

  // @ts-expect-error: the wrapper keeps the parameter types
  void offloadedAdd('1', 2);
  // @ts-expect-error: and the parameter count
  void offloadedAdd(1);
  // @ts-expect-error: and the optional parameter's type
  void offloadedFetch('a', { upper: 'yes' });
  // @ts-expect-error: the result is a promise, never the bare value
  const bare: number = offloadedAdd(1, 2);
  // @ts-expect-error: of the awaited return type
  const wrongResult: Promise<string> = offloadedAdd(1, 2);
  void [bare, wrongResult];
}

// Options of the wrapper are checked.
// @ts-expect-error: an unknown option key
runInProcess(add, { timout: 5 });
// @ts-expect-error: timeout is a number of milliseconds
runInProcess(add, { timeout: '5s' });
// @ts-expect-error: pool is a pool's name
runInProcess(add, { pool: 1 });
// @ts-expect-error: module is a URL or a URL string
runInProcess(add, { module: 1 });
// @ts-expect-error: only functions can be wrapped
runInProcess(add, add);
// @ts-expect-error: a string is neither a function nor options
runInProcess('add');

// A function that returns `any` gives a promise of `any`, not a union with a generator (JSON.parse).
export const offloadedParse = runInProcess(function parse(text: string) {
  return JSON.parse(text);
});
assertType<Equal<ReturnType<typeof offloadedParse>, Promise<any>>>();
export const parsedLater: Promise<unknown> = offloadedParse('1').then((value) => value);

// A helper of the app's own that wraps for its callers (README) keeps each function's types, and a
// function returning a union gives a promise of that union, not a union of promises.
function offload<F extends (...args: any[]) => unknown>(fn: F) {
  return runInProcess(fn, { pool: 'helpers' });
}
export const offloadedIsPrime = offload(function isPrime(n: number): boolean {
  return n > 1;
});
assertType<Equal<Parameters<typeof offloadedIsPrime>, [n: number]>>();
assertType<Equal<ReturnType<typeof offloadedIsPrime>, Promise<boolean>>>();
export const stubbedIsPrime: OffloadedFunction<(n: number) => boolean> = async (n) => n > 1;
export const maybeName = runInProcess(function maybeName(id: number): string | undefined {
  return id > 0 ? String(id) : undefined;
});
assertType<Equal<ReturnType<typeof maybeName>, Promise<string | undefined>>>();
// A generic function does not stay generic: its type parameters become their constraints.
export const offloadedPair = runInProcess(function pair<T>(value: T): [T, T] {
  return [value, value];
});
assertType<Equal<ReturnType<typeof offloadedPair>, Promise<[unknown, unknown]>>>();
