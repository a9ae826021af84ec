import { runInProcess } from 'run-in-process';

@runInProcess({ timeout: 30_000 })
export class Counter {
  constructor(private readonly base: number) {}

  @runInProcess
  async addTo(n: number): Promise<{ sum: number; pid: number }> {
    return { sum: this.base + n, pid: process.pid };
  }

  @runInProcess
  static async describe(label: string): Promise<{ text: string; pid: number }> {
    return { text: `${this.name}:${label}`, pid: process.pid };
  }
}

export const square = runInProcess(function square(x: number) {
  return { value: x * x, pid: process.pid };
});
