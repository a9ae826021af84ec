import { types } from 'node:util';

/**
 * `import(url)`, its namespace boxed: a promise resolved with a namespace, or an `await` of one,
 * calls its `then` when the module exports one. Such a module cannot be imported faithfully at all:
 * the promise `import()` returns takes its namespace for a promise too, and settles as its `then`
 * says, if ever. Asking for it a second way (a `data:` module that re-exports it) was tried: under
 * a loader that resolves a module by its importer (tsx, for CommonJS TypeScript), that evaluated the
 * module a second time. So one that settles with something else is refused, saying why; one that
 * never settles waits (README, Caveats).
 */
export async function importNamespace(url: string): Promise<{ namespace: object }> {
  const namespace: unknown = await import(url);
  if (!types.isModuleNamespaceObject(namespace)) {
    throw new TypeError(
      `${url} exports a function named \`then\`: import() takes the module for a promise, and calls it instead of ` +
        'giving the module. Rename that export, or move it to a module of its own.',
    );
  }
  return { namespace: namespace as object };
}
