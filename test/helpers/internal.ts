/**
 * A module of the built library that is not part of its public surface, for unit tests of one
 * part: `await internal<typeof import('../../dist/pool/backlog.js')>('pool/backlog.js')`. Built
 * tests live in build/test/<folder>/, three levels below the repository's root.
 */
export async function internal<T>(path: string): Promise<T> {
  return (await import(new URL(`../../../dist/${path}`, import.meta.url).href)) as T;
}
