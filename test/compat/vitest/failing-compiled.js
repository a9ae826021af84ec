import { runInProcess } from 'run-in-process';

// Counts its evaluations in this process: the parent must not load a second instance to find
// the error class below.
const loads = (globalThis.compatLoads ??= {});
loads['failing-compiled.js'] = (loads['failing-compiled.js'] ?? 0) + 1;

export class CompiledFailed extends Error {
  name = 'CompiledFailed';
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

// As tsc emits a legacy static method decorator, written out.
export class FailingCompiled {
  static async fail(code) {
    throw new CompiledFailed(`failed with ${code}`, code);
  }
}
const descriptor = Object.getOwnPropertyDescriptor(FailingCompiled, 'fail');
Object.defineProperty(FailingCompiled, 'fail', runInProcess(FailingCompiled, 'fail', descriptor) ?? descriptor);
