// Streams, in both TypeScript decorator modes (this file is compiled by both tsconfigs): an
// `async *` method keeps its declared AsyncGenerator type; a wrapped `async function*` returns an
// AsyncGenerator of its items and return value; `stream` and `callbacks` are options.
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
  // Declared the older or looser ways, as `async *` methods often are: streams all the same.
  @runInProcess
  async *iterator(count: number): AsyncIterableIterator<number> {
    yield count;
  }

  @runInProcess({ timeout: 1_000 })
  async *iterable(count: number): AsyncIterable<number> {
    yield count;
  }
}
assertType<Equal<ReturnType<Older['iterator']>, AsyncIterableIterator<number>>>();
assertType<Equal<ReturnType<Older['iterable']>, AsyncIterable<number>>>();
export const iterated = runInProcess(async function* iterated(): AsyncIterableIterator<number> {
  yield 1;
});
assertType<Equal<typeof iterated, () => AsyncGenerator<number, unknown, unknown>>>();
export const iterable = runInProcess(async function* iterable(): AsyncIterable<string> {
  yield 'a';
});
assertType<Equal<typeof iterable, () => AsyncGenerator<string, unknown, unknown>>>();

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
  for await (const value of new Older().iterable(2)) void value;
  for await (const row of new Exporter().rows('select')) {
    const id: number = row.id;
    if (id > 1) break;
  }
  const summary = await new Exporter().rows('x').return({ total: 0 });
  void summary;
  // @ts-expect-error: the window must be a number
  runInProcess({ stream: { window: '16' } });
}
