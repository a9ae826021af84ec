/**
 * `import(url)`, its namespace boxed: a promise resolved with a namespace, or an `await` of one,
 * would call its `then` when the module exports one. The promise `import()` returns takes such a
 * namespace for a promise too, and settles as its `then` says, if ever: such a module cannot be
 * imported faithfully (README, Caveats). Asking for it a second way (a `data:` module that
 * re-exports it) was tried: under a loader that resolves a module by its importer (tsx, for
 * CommonJS TypeScript), that evaluated the module a second time. And what `import()` gives is not
 * always a namespace object (tsx's CommonJS modules), so it cannot be checked for one either.
 */
export async function importNamespace(url: string): Promise<{ namespace: object }> {
  return { namespace: (await import(url)) as object };
}
