/**
 * `import(url)`, for the namespace of a module that may export `then`. The promise `import()` returns
 * takes such a namespace for a promise, as any thenable, and calls its `then` to settle: a plain
 * function named `then` leaves it pending for good (the module loaded, the call waiting on it).
 * A module that has not answered after `boxAfterMs` is asked for a second way as well, through a
 * `data:` module that re-exports its namespace inside an object, which settles once the module is
 * evaluated. Only then: that module costs a compilation (~1 ms), which a fast import does without.
 * The namespace comes boxed as well: a promise resolved with it, or an `await` of it, would call its
 * `then` again.
 */
export function importNamespace(url: string, boxAfterMs = 100): Promise<{ namespace: object }> {
  const direct = import(url) as Promise<object>;
  return new Promise((resolve, reject) => {
    const boxed = setTimeout(() => {
      (import(boxOf(url)) as Promise<{ ns: object }>).then(
        (box) => resolve({ namespace: box.ns }),
        // The direct import fails the same way, or has settled: it says what happened.
        () => {},
      );
    }, boxAfterMs);
    direct.then(
      (namespace) => {
        clearTimeout(boxed);
        resolve({ namespace });
      },
      (error: unknown) => {
        clearTimeout(boxed);
        reject(error);
      },
    );
  });
}

function boxOf(url: string): string {
  return `data:text/javascript,${encodeURIComponent(`import * as ns from ${JSON.stringify(url)}; export { ns };`)}`;
}
