import { processState } from './process-state.js';

// A file of its own so that the published types of this export name nothing from @types/node.

/**
 * True inside a child process started by run-in-process. The child imports your module, so its
 * top-level code runs there too; guard side effects such as starting a server:
 *
 * @example
 * if (!isChildProcess()) await main();
 */
export function isChildProcess(): boolean {
  return processState.isChild;
}
