// Streams, in both TypeScript decorator modes (this file is compiled by both tsconfigs): an
// `async *` method keeps its declared AsyncGenerator type; a wrapped `async function*` returns an
// AsyncGenerator of its items and return value; `stream` and `callbacks` are options.
import { Readable } from 'node:stream';
import { type OffloadedFunction, runInProcess } from 'run-in-process';
import { assertType, type Equal } from './helpers.js';

interface Row {
  id: number;
}

export class Exporter {
  @runInProcess({ timeout: 60_000, stream: { window: 8, idleTimeout: 1_000 } })
  async *rows(query: string): AsyncGenerator<Row, { total: number }> {
    yield { id: query.length };
    return { total: 1 };
  }

  @runInProcess
  static async *ids(count: number): AsyncGenerator<number> {
    for (let id = 0; id < count; id++) yield id;
  }

  @runInProcess({ callbacks: true })
  async crunch(steps: number, onProgress: (done: number) => void): Promise<string> {
    onProgress(steps);
    return 'done';
  }
}

export class Older {
  // Declared the older way, as `async *` methods often are: streams all the same.
  @runInProcess
  async *iterator(count: number): AsyncIterableIterator<number> {
    yield count;
  }

  @runInProcess({ timeout: 1_000 })
  static async *ids(count: number): AsyncIterableIterator<number> {
    yield count;
  }

  // Not a looser AsyncIterable: a plain method returning a Node stream is one, and does not stream.
  // @ts-expect-error: an AsyncIterable is no async generator
  @runInProcess
  lines(): AsyncIterable<string> {
    return Readable.from(['a']);
  }
}
assertType<Equal<ReturnType<Older['iterator']>, AsyncIterableIterator<number>>>();
export const iterated = runInProcess(async function* iterated(): AsyncIterableIterator<number> {
  yield 1;
});
assertType<Equal<typeof iterated, () => AsyncGenerator<number, unknown, unknown>>>();
// A function returning a web stream is called as an async function: a promise, not a stream.
export const body = runInProcess(function body(): ReadableStream<Uint8Array> {
  return new ReadableStream();
});
assertType<Equal<typeof body, () => Promise<ReadableStream<Uint8Array>>>>();

assertType<Equal<ReturnType<Exporter['rows']>, AsyncGenerator<Row, { total: number }>>>();
assertType<Equal<ReturnType<typeof Exporter.ids>, AsyncGenerator<number>>>();

export const lines = runInProcess(async function* lines(text: string): AsyncGenerator<string, number> {
  yield text;
  return 1;
});
assertType<Equal<typeof lines, (text: string) => AsyncGenerator<string, number, unknown>>>();
assertType<Equal<typeof lines, OffloadedFunction<(text: string) => AsyncGenerator<string, number>>>>();

export async function use(): Promise<void> {
  for await (const value of iterated()) void value;
  for await (const value of Older.ids(2)) void value;
  for await (const row of new Exporter().rows('select')) {
    const id: number = row.id;
    if (id > 1) break;
  }
  const summary = await new Exporter().rows('x').return({ total: 0 });
  void summary;
  // @ts-expect-error: the window must be a number
  runInProcess({ stream: { window: '16' } });
}
