import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ModuleEntry } from '../shared/registry.js';
import { usageError } from '../errors.js';
import { warnOnce } from '../shared/warn-once.js';

/**
 * The entry script as a declaring module: the child imports it, so its top-level code runs again
 * there. Detected by comparing real paths with `process.argv[1]`, which may omit the extension.
 */

let entryScript: string | null | undefined;
/** Asked on every call: the answer for each module is kept. */
const answers = new WeakMap<ModuleEntry, boolean>();

export function isEntryScript(module: ModuleEntry): boolean {
  let answer = answers.get(module);
  if (answer === undefined) answers.set(module, (answer = isSameFile(module.url, entryScriptPath())));
  return answer;
}

export function warnIfEntryScript(module: ModuleEntry): void {
  if (!isEntryScript(module)) return;
  if (isTestFile()) {
    throw usageError(
      `Cannot run code of ${module.url} in a child process: it is a test file (the entry script, which uses ` +
        `node:test${process.env['NODE_TEST_CONTEXT'] === undefined ? '' : ', run by node --test'}), and the child ` +
        `imports the declaring module, which would run its tests again there. Move the class or function into its ` +
        `own module, and import it from the test.`,
    );
  }
  warnOnce(
    'RUN_IN_PROCESS_ENTRY_SCRIPT',
    module,
    () =>
      `run-in-process: ${module.url} is the entry script, and the child process imports the ` +
      `declaring module, so this script's top-level code runs again in every child. Move the decorated ` +
      `code into its own module, or guard the script's side effects with if (!isChildProcess()) { … }.`,
  );
}

function entryScriptPath(): string | null {
  if (entryScript !== undefined) return entryScript;
  entryScript = null;
  const main = process.argv[1];
  if (!main) return entryScript;
  for (const candidate of [main, `${main}.js`, `${main}.mjs`, `${main}.cjs`, `${main}.ts`]) {
    try {
      return (entryScript = realpathSync(candidate));
    } catch {
      // Not this spelling of the entry script.
    }
  }
  return entryScript;
}

function isSameFile(url: string, path: string | null): boolean {
  if (path === null) return false;
  try {
    return realpathSync(fileURLToPath(url)) === path;
  } catch {
    return false;
  }
}

/**
 * Whether the entry script is a test file: it loaded node:test (Node lists the built-ins a process
 * loaded in `process.moduleLoadList`), and `node --test` runs it (Node marks the process it starts
 * for each file with NODE_TEST_CONTEXT), or its name is one `node --test` looks for
 * (`math_test.mjs`, `test-math.js`, `test/math.js`; `*.test.*` and `*.spec.*` are refused where
 * they declare). Imported in a child, it would run its tests there again, their output in the
 * parent's. An app that uses node:test's `mock` alone is none.
 */
function isTestFile(): boolean {
  if (!(process as { moduleLoadList?: string[] }).moduleLoadList?.includes('NativeModule test')) return false;
  if (process.env['NODE_TEST_CONTEXT'] !== undefined) return true;
  const path = entryScriptPath();
  return path !== null && testFileName.test(path);
}

/** Node's test runner's default patterns, by name: `*-test.*`, `*_test.*`, `test-*.*`, `test.*`, `test/**`. */
const testFileName = /(?:[-_]test\.[^/\\]+|[/\\]test(?:-[^/\\]*)?\.[^/\\]+|[/\\]test[/\\].+)$/;
