import { runInProcess } from './library.js';

// Counts its evaluations in this process, as failing-work.ts does.
const loads = ((globalThis as { compatLoads?: Record<string, number> }).compatLoads ??= {});
loads['reexported-work.ts'] = (loads['reexported-work.ts'] ?? 0) + 1;

export class ReexportFailed extends Error {
  override name = 'ReexportFailed';
}

/** Declared with runInProcess imported from the app's own module (library.ts), not from 'run-in-process'. */
export class ReexportedWork {
  @runInProcess
  static async fail(): Promise<never> {
    throw new ReexportFailed(`failed in ${process.pid}`);
  }
}
