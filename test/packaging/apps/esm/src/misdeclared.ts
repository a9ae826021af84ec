import { runInProcess } from 'run-in-process';

export class Misdeclared {
  // @ts-expect-error: an offloaded method must return a Promise
  @runInProcess
  count(): number {
    return 1;
  }
}
