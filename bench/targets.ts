// Decorated code lives here, not in main.ts: the child imports this module by file URL,
// and importing the entry script would start a second benchmark inside the child.
import { runInProcess } from 'run-in-process';
import { streamItem } from './contenders/stream-item.js';

export class Bench {
  constructor(public blob = 'x'.repeat(100_000)) {}

  @runInProcess static async tiny(x: number): Promise<number> {
    return x + 1;
  }

  @runInProcess async withThis(x: number): Promise<number> {
    return x + this.blob.length;
  }

  @runInProcess static async echo<T>(v: T): Promise<T> {
    return v;
  }

  /** The same tiny call on a pool that sends several calls to a child at once (callsPerChild). */
  @runInProcess({ pool: 'pipelined' }) static async tinyPipelined(x: number): Promise<number> {
    return x + 1;
  }

  /** The same tiny call on a pool warmed with `warmUp()` before the first call (minChildren, preload). */
  @runInProcess({ pool: 'warmed' }) static async tinyWarmed(x: number): Promise<number> {
    return x + 1;
  }

  @runInProcess async echoWithThis(v: unknown): Promise<unknown> {
    return v;
  }

  /** withThis's honest baseline: a static call given the same 100 KB as an argument. */
  @runInProcess static async withBlob(x: number, blob: string): Promise<number> {
    return x + blob.length;
  }

  @runInProcess static async echoWithBlob(v: unknown, _blob: string): Promise<unknown> {
    return v;
  }

  /** `count` small objects streamed, at most 16 (the default window) ahead of the consumer. */
  @runInProcess static async *items(count: number): AsyncGenerator<ReturnType<typeof streamItem>> {
    for (let i = 0; i < count; i++) yield streamItem(i);
  }

  /** The same at a local generator's pace: each item only once the consumer asks for it. */
  @runInProcess({ stream: { window: 1 } })
  static async *itemsPaced(count: number): AsyncGenerator<ReturnType<typeof streamItem>> {
    for (let i = 0; i < count; i++) yield streamItem(i);
  }
}

export const wrapped = runInProcess(function wrapped(x: number) {
  return x + 1;
});

export const wrappedEcho = runInProcess(function wrappedEcho(v: unknown) {
  return v;
});
