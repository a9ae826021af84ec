/**
 * A module of the built library that is not part of its public surface, for unit tests of one
 * part: `await internal<typeof import('../../build/lib/pool/backlog.js')>('pool/backlog.js')`. It comes
 * from tsc's output, build/lib/, one file per module: the published dist/ is bundled
 * (scripts/bundle.mjs) and keeps only the entry points' paths. Built tests live in
 * build/test/<folder>/. A test that also imports 'run-in-process' gets the bundle's copy of a
 * module beside this one: it imports the public entry through here too (`internal('index.js')`).
 */
export async function internal<T>(path: string): Promise<T> {
  return (await import(new URL(`../../lib/${path}`, import.meta.url).href)) as T;
}
