import { setImmediate as turn } from 'node:timers/promises';

export interface CapturedWarning {
  name: string;
  code: string | undefined;
  message: string;
}

/**
 * Runs `body` and collects the process warnings emitted meanwhile, including those emitted on the
 * turn after it settles (process.emitWarning emits on the next tick).
 */
export async function captureWarnings<T>(body: () => Promise<T>): Promise<{ result: T; warnings: CapturedWarning[] }> {
  const warnings: CapturedWarning[] = [];
  const onWarning = (warning: Error & { code?: string }) => {
    warnings.push({ name: warning.name, code: warning.code, message: warning.message });
  };
  process.on('warning', onWarning);
  try {
    const result = await body();
    await turn();
    return { result, warnings };
  } finally {
    process.off('warning', onWarning);
  }
}
