import { runInProcess } from 'run-in-process';

let decoratorMode = 'none';
/** Records which decorator calling convention the loader compiled this file with (in whichever process loads it). */
function probe(...args: unknown[]): void {
  decoratorMode = args.length === 2 ? 'standard' : 'legacy';
}

export class Work {
  constructor(private readonly factor: number) {}

  @probe
  @runInProcess
  async scale(values: number[]): Promise<{ pid: number; scaled: number[] }> {
    return { pid: process.pid, scaled: values.map((value) => value * this.factor) };
  }

  @runInProcess
  static async decoratorMode(): Promise<string> {
    return decoratorMode;
  }
}
