import { types } from 'node:util';

/**
 * `import(url)`, for the namespace of a module that may export `then`. The promise `import()` returns
 * takes such a namespace for a promise, as any thenable, and calls its `then` to settle: a plain
 * function named `then` leaves it pending for good (the module loaded, the call waiting on it), one
 * that calls back settles it with whatever it gives, one that throws rejects it. So the module is
 * also asked for through a `data:` module that re-exports its namespace inside an object, which
 * settles once the module is evaluated (or fails as the module failed): at once when `import()`
 * settled with anything but a namespace, or failed; after `boxAfterMs` while it has not settled.
 * Only then: that module costs a compilation (~1 ms), which a fast import does without. The
 * namespace comes boxed as well: a promise resolved with it, or an `await` of it, would call its
 * `then` again.
 */
export function importNamespace(url: string, boxAfterMs = 100): Promise<{ namespace: object }> {
  return new Promise((resolve, reject) => {
    // When both ways fail, the module failed: the direct import's error says so best (the data:
    // module would name itself as the importer of a module that is not found).
    let directFailed: { error: unknown } | undefined;
    let boxFailed = false;
    let boxing = false;
    const box = () => {
      if (boxing) return;
      boxing = true;
      clearTimeout(boxed);
      (import(boxOf(url)) as Promise<{ ns: object }>).then(
        (module) => resolve({ namespace: module.ns }),
        () => {
          if (directFailed) reject(directFailed.error);
          else boxFailed = true;
        },
      );
    };
    const boxed = setTimeout(box, boxAfterMs);
    (import(url) as Promise<unknown>).then(
      (namespace) => {
        if (!types.isModuleNamespaceObject(namespace)) return box();
        clearTimeout(boxed);
        resolve({ namespace: namespace as object });
      },
      (error: unknown) => {
        if (boxFailed) return reject(error);
        directFailed = { error };
        box();
      },
    );
  });
}

function boxOf(url: string): string {
  return `data:text/javascript,${encodeURIComponent(`import * as ns from ${JSON.stringify(url)}; export { ns };`)}`;
}
