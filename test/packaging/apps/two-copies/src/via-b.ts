import { isChildProcess as otherCopySaysChild } from 'run-in-process';
import { runInProcess } from 'rip2';

export class FromB {
  constructor(private readonly tag: string) {}

  @runInProcess
  async where(): Promise<{ tag: string; pid: number; pool: string | undefined; otherCopySaysChild: boolean }> {
    return { tag: this.tag, pid: process.pid, pool: process.env['RIP_POOL'], otherCopySaysChild: otherCopySaysChild() };
  }
}
