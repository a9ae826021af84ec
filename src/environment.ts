/**
 * Whether this process is one of our children. Kept on `globalThis` so that every copy of the
 * library in the process agrees, and set by the child runner before it imports any user module.
 */
const childFlag = Symbol.for('run-in-process.child');

/**
 * True inside a child process started by run-in-process. The child imports your module, so its
 * top-level code runs there too; guard side effects such as starting a server:
 *
 * @example
 * if (!isChildProcess()) await main();
 */
export function isChildProcess(): boolean {
  return (globalThis as { [childFlag]?: boolean })[childFlag] === true;
}

export function markChildProcess(): void {
  (globalThis as { [childFlag]?: boolean })[childFlag] = true;
}
