import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ModuleEntry } from './registry.js';

/**
 * The entry script as a declaring module: the child imports it, so its top-level code runs again
 * there. Detected by comparing real paths with `process.argv[1]`, which may omit the extension.
 */

let entryScript: string | null | undefined;

export function isEntryScript(module: ModuleEntry): boolean {
  if (entryScript === undefined) {
    const main = process.argv[1];
    entryScript = null;
    if (main) {
      for (const candidate of [main, `${main}.js`, `${main}.mjs`, `${main}.cjs`, `${main}.ts`]) {
        try {
          entryScript = realpathSync(candidate);
          break;
        } catch {
          // Not this spelling of the entry script.
        }
      }
    }
  }
  try {
    return entryScript !== null && realpathSync(fileURLToPath(module.importUrl)) === entryScript;
  } catch {
    return false;
  }
}

export function warnIfEntryScript(module: ModuleEntry): void {
  if (module.warned) return;
  module.warned = true;
  if (!isEntryScript(module)) return;
  process.emitWarning(
    `run-in-process: ${module.importUrl} is the entry script, and the child process imports the ` +
      `declaring module, so this script's top-level code runs again in every child. Move the decorated ` +
      `code into its own module, or guard the script's side effects with if (!isChildProcess()) { … }.`,
    { code: 'RUN_IN_PROCESS_ENTRY_SCRIPT' },
  );
}
