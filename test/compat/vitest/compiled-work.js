import { runInProcess } from 'run-in-process';

// A compiled module, as tsc emits it for legacy decorators (its __decorate helper, written out):
// plain JavaScript, so the child imports it without any loader.
export class CompiledWork {
  static async pid() {
    return process.pid;
  }
}
const descriptor = Object.getOwnPropertyDescriptor(CompiledWork, 'pid');
Object.defineProperty(CompiledWork, 'pid', runInProcess(CompiledWork, 'pid', descriptor) ?? descriptor);
