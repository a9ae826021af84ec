import type { ExportNameOf } from '../codec/thrown-shape.js';
import { SteerSlot, type Answer, type ChildNotice, type Steer } from '../protocol.js';
import { answerWith, thrownAnswer, encodedValue } from './answers.js';

/**
 * Drives a generator that a call returned: each item it yields is sent at once, as long as the
 * parent has granted credit for it; with none left, the generator is not resumed (it waits at its
 * `yield`) until the parent grants more. The answer is the generator's return value, or its throw.
 * A word to stop resumes it with `return()` instead, which runs its `finally` blocks.
 */

interface RunningStream {
  readonly batch: number;
  credit: number;
  stopped: boolean;
  /** Wakes the stream waiting for credit, or for the word to stop. */
  wake: (() => void) | undefined;
}

/** By call id, which the parent gives out once per process. */
const streams = new Map<number, RunningStream>();

/** What the parent says to a stream this child runs; a word for a stream that ended is dropped. */
export function steerStream(batch: number, call: number, steer: Steer): void {
  const stream = streams.get(call);
  if (!stream || stream.batch !== batch) return;
  if (steer[0] === 'credit') stream.credit += steer[SteerSlot.count];
  else stream.stopped = true;
  stream.wake?.();
}

export async function driveStream(
  start: () => unknown,
  batch: number,
  call: number,
  window: number,
  notify: (notice: ChildNotice) => void,
  exportNameOf: ExportNameOf | undefined,
): Promise<Answer> {
  let generator: AsyncIterator<unknown>;
  try {
    generator = asyncIteratorOf(start());
  } catch (error) {
    return thrownAnswer(error, 'call', exportNameOf);
  }
  const stream: RunningStream = { batch, credit: window, stopped: false, wake: undefined };
  streams.set(call, stream);
  try {
    for (let index = 0; ; index++) {
      while (stream.credit === 0 && !stream.stopped) await creditOrStop(stream);
      if (stream.stopped) return await stopped(generator, exportNameOf);
      let step: IteratorResult<unknown>;
      try {
        step = await generator.next();
      } catch (error) {
        return thrownAnswer(error, 'call', exportNameOf);
      }
      if (step.done) return answerWith(step.value);
      // The consumer left while this item was being made: it is dropped, and the generator stopped.
      if (stream.stopped) return await stopped(generator, exportNameOf);
      let item: ReturnType<typeof encodedValue>;
      try {
        item = encodedValue(step.value, `yield[${index}]`);
      } catch (error) {
        // The stream cannot go on without this item: the generator is stopped, and the child lives.
        await stopped(generator, exportNameOf);
        return thrownAnswer(error, 'call');
      }
      notify(['run-in-process:emit', batch, call, ['item', item]]);
      stream.credit--;
    }
  } finally {
    streams.delete(call);
  }
}

/** Runs the generator's `finally` blocks; the answer is what they threw, if they did. */
async function stopped(generator: AsyncIterator<unknown>, exportNameOf: ExportNameOf | undefined): Promise<Answer> {
  try {
    await generator.return?.();
    return ['as-is', undefined, false];
  } catch (error) {
    return thrownAnswer(error, 'call', exportNameOf);
  }
}

function creditOrStop(stream: RunningStream): Promise<void> {
  return new Promise((resolve) => {
    stream.wake = () => {
      stream.wake = undefined;
      resolve();
    };
  });
}

function asyncIteratorOf(value: unknown): AsyncIterator<unknown> {
  const iterate = (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator];
  if (typeof iterate !== 'function') {
    throw new TypeError(
      `A method the parent calls as a stream returned ${value === null ? 'null' : typeof value}, not an async ` +
        `iterator: declare it \`async *\` in the module the child imports.`,
    );
  }
  return iterate.call(value) as AsyncIterator<unknown>;
}
