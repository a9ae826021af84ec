import { runInProcess } from 'run-in-process';

export class QuotaError extends Error {
  override name = 'QuotaError';
  constructor(readonly limit: number) {
    super(`over quota ${limit}`);
  }
}

export class Risky {
  @runInProcess
  async overQuota(limit: number): Promise<void> {
    throw new QuotaError(limit);
  }

  @runInProcess
  async crash(code: number): Promise<void> {
    process.exit(code);
  }
}
