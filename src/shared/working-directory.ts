/**
 * The working directory, or undefined once it has been deleted: `process.cwd()` then throws
 * (ENOENT), where starting a child still works (it starts in the same deleted directory). A release
 * folder pruned under a long-running app that had chdir'd into it, say.
 */
export function workingDirectory(): string | undefined {
  try {
    return process.cwd();
  } catch {
    return undefined;
  }
}
