import { runInProcess } from 'run-in-process';

// Counts its evaluations in this process: the parent must not load a second instance to find
// the error class below.
const loads = ((globalThis as { compatLoads?: Record<string, number> }).compatLoads ??= {});
loads['failing-work.ts'] = (loads['failing-work.ts'] ?? 0) + 1;

export class WorkFailed extends Error {
  override name = 'WorkFailed';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class FailingWork {
  @runInProcess
  static async fail(code: string): Promise<never> {
    throw new WorkFailed(`failed with ${code}`, code);
  }
}
