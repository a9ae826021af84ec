import { runInProcess } from 'run-in-process';

export class TsWork {
  @runInProcess
  static async pid(): Promise<number> {
    return process.pid;
  }
}
