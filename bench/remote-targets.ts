// The remote pool's targets, in a module of their own: the bench process calls them, and the
// worker (started by the library's CLI with the bench folder as its working directory) serves
// them, both naming them `run-in-process-bench:build/remote-targets.js#RemoteBench.<method>`.
import { runInProcess } from 'run-in-process';

export const remotePool = 'remote-bench';

// biome-ignore lint/complexity/noStaticOnlyClass: decorated methods need a class; static ones need no instance sent.
export class RemoteBench {
  @runInProcess({ pool: remotePool }) static async tiny(x: number): Promise<number> {
    return x + 1;
  }

  @runInProcess({ pool: remotePool }) static async echo<T>(v: T): Promise<T> {
    return v;
  }
}
