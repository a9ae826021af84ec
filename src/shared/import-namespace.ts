/**
 * A module's namespace, which `import(url)` does not always give: a module that exports `then` has
 * a thenable namespace, and the promise of its `import()` calls that `then` in its place (a hook
 * that resolves nothing left every call to that module waiting for ever; one that resolves a value
 * gave that value as the namespace; and so would any promise that carried the namespace itself, or
 * an `await` of it). A module of one line that re-exports it as a binding is imported instead
 * (~0.3 ms more, once per module): by a child for the modules its calls need, by a worker for those
 * it serves, by a parent reading a failed call's module. Where that fails, the module is imported
 * directly, whose error says what failed with no word of the wrapper (a module not found; its own
 * throw, which Node keeps and throws again without running it twice).
 *
 * Not on Node 20: there, a CommonJS module that throws as an ES module imports it statically ends
 * the process from inside Node's loader, where no catch reaches (measured on 20.20; not on 22, 24,
 * 26); a throwing module must fail its calls with ModuleLoadError, and no process of ours die of it.
 */
const wrapsImports = Number(process.versions.node.split('.')[0]) >= 22;

/** The namespace in a box with no `then`, which a promise can carry as it is. */
export async function importNamespace(url: string): Promise<{ ns: object }> {
  if (!wrapsImports) return { ns: (await import(url)) as object };
  try {
    // The re-exporting module's own namespace: its one export is `ns`.
    return (await import(`data:text/javascript,export * as ns from ${encodeURIComponent(JSON.stringify(url))};`)) as {
      ns: object;
    };
  } catch {
    return { ns: (await import(url)) as object };
  }
}
