import { runInProcess } from 'run-in-process';

/** Exported by the declaring module: it must come back as itself. */
export class Refused extends Error {
  constructor(readonly code: number) {
    super(`refused ${code}`);
    this.name = 'Refused';
  }
}

export class Gate {
  @runInProcess
  static async open(code: number): Promise<number> {
    if (code < 0) throw new Refused(code);
    return process.pid;
  }
}
