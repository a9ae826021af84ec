import { runInProcess } from 'run-in-process';

export class WithGetter {
  // @ts-expect-error: a getter cannot be offloaded
  @runInProcess
  get value(): Promise<number> {
    return Promise.resolve(1);
  }
}
