import { runInProcess } from 'run-in-process';

// In the bundle, Work is no longer an export of the declaring module (the bundle exports nothing),
// so under standard decorators the class itself is decorated for the child to find it.
@runInProcess()
export class Work {
  constructor(private readonly factor: number) {}

  @runInProcess
  async scale(value: number): Promise<{ pid: number; scaled: number }> {
    return { pid: process.pid, scaled: value * this.factor };
  }
}
