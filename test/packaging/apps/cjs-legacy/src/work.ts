import { runInProcess } from 'run-in-process';

export class LimitError extends Error {
  override name = 'LimitError';
  constructor(readonly limit: number) {
    super(`limit ${limit}`);
  }
}

@runInProcess({ timeout: 30_000 })
export class Greeter {
  constructor(private readonly greeting: string) {}

  @runInProcess
  async greet(name: string): Promise<{ text: string; pid: number; file: string; moduleKind: string }> {
    return { text: `${this.greeting}, ${name}`, pid: process.pid, file: __filename, moduleKind: typeof module };
  }

  @runInProcess
  static async version(): Promise<{ name: string; pid: number }> {
    return { name: this.name, pid: process.pid };
  }

  @runInProcess
  async limited(limit: number): Promise<void> {
    throw new LimitError(limit);
  }

  @runInProcess
  static async crash(code: number): Promise<void> {
    process.exit(code);
  }
}

export const triple = runInProcess(function triple(x: number) {
  return { value: x * 3, pid: process.pid };
});
