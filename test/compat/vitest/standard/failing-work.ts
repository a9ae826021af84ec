import { runInProcess } from 'run-in-process';

// Counts its evaluations in this process: the parent must not load a second instance to find
// the error class below.
const loads = ((globalThis as { compatLoads?: Record<string, number> }).compatLoads ??= {});
loads['standard/failing-work.ts'] = (loads['standard/failing-work.ts'] ?? 0) + 1;

export class WorkFailed extends Error {
  override name = 'WorkFailed';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Standard decorators, with what each mode would see: a decorator context here. */
export const decoratorMode = { seen: 'none' as string };

function mode(_value: unknown, context?: unknown): void {
  decoratorMode.seen = typeof context === 'object' && context !== null && 'kind' in context ? 'standard' : 'legacy';
}

export class StandardWork {
  @mode
  @runInProcess
  static async pid(): Promise<number> {
    return process.pid;
  }

  @runInProcess
  static async fail(code: string): Promise<never> {
    throw new WorkFailed(`failed with ${code}`, code);
  }

  @runInProcess
  static async childMode(): Promise<string> {
    return decoratorMode.seen;
  }
}

/**
 * Wrapped in a module whose decorators the plugin lowers, under the name of the const that holds it
 * (the README's pattern): lowering renamed the function expression (parse2) unless names are kept.
 */
export const parse = runInProcess(async function parse(text: string): Promise<unknown> {
  return JSON.parse(text);
});
