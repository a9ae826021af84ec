import { runInProcess } from 'run-in-process';

// Not marked: the compiler's message for this mistake is what the check reads, and it must name the fix.
export class Named {
  @runInProcess({ name: 'other' })
  async count(): Promise<number> {
    return 1;
  }
}
