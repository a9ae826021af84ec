// A consumer that uses no Node globals itself, compiled without "types": ["node"] (TypeScript ≥ 6's
// default): the library's declarations must bring what they need.
import { ProcessCrashedError, runInProcess } from 'run-in-process';

export class Pure {
  @runInProcess
  async double(n: number): Promise<number> {
    return n * 2;
  }
}

export const half = runInProcess(function half(n: number) {
  return n / 2;
});

export function describe(error: unknown): string {
  return error instanceof ProcessCrashedError ? `exit ${error.exitCode} signal ${error.signal}` : 'other';
}
