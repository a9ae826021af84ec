import { isChildProcess as otherCopySaysChild } from 'rip2';
import { runInProcess } from 'run-in-process';

export class FromA {
  constructor(private readonly tag: string) {}

  @runInProcess
  async where(): Promise<{ tag: string; pid: number; pool: string | undefined; otherCopySaysChild: boolean }> {
    return { tag: this.tag, pid: process.pid, pool: process.env['RIP_POOL'], otherCopySaysChild: otherCopySaysChild() };
  }
}
