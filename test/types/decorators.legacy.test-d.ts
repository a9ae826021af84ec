// Only with experimentalDecorators: parameter decorators exist there (and are a syntax error in
// standard mode, so this file is left out of tsconfig.standard.json).
import { runInProcess } from 'run-in-process';

export class WithParameter {
  // @ts-expect-error: a parameter cannot be offloaded
  async run(@runInProcess n: number): Promise<number> {
    return n;
  }
}
