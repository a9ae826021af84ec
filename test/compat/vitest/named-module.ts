import { runInProcess } from 'run-in-process';

// The module is named rather than read from the call stack.
export class NamedModuleWork {
  @runInProcess({ module: import.meta.url })
  static async pid(): Promise<number> {
    return process.pid;
  }
}
