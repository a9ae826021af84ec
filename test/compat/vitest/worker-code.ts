import { runInProcess } from 'run-in-process';

export class TsWork {
  @runInProcess
  static async pid(): Promise<number> {
    return process.pid;
  }
}

/** Wrapped under the name of the const that holds it, beside a decorated class (the README's pattern). */
export const parse = runInProcess(async function parse(text: string): Promise<unknown> {
  return JSON.parse(text);
});

/** Waits `ms` in the child, on its own real timers. */
export const sleepFor = runInProcess(async function sleepFor(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
});
