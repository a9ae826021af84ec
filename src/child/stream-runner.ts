import type { ExportNameOf } from '../codec/thrown-shape.js';
import { SteerSlot, type Answer, type ChildNotice, type Steer, type Value } from '../protocol.js';
import { answerWith, encodedItem, thrownAnswer } from './answers.js';
import { clearTimeout, perfNow, setImmediate, setTimeout } from '../shared/real-clock.js';

/**
 * Drives a generator that a call returned: each item it yields is sent soon, as long as the
 * parent has granted credit for it; with none left, the generator is not resumed (it waits at its
 * `yield`) until the parent grants more. The answer is the generator's return value, or its throw.
 * A word to stop resumes it with `return()` instead, which runs its `finally` blocks.
 */

interface RunningStream {
  readonly batch: number;
  readonly notify: (notice: ChildNotice) => void;
  credit: number;
  /** Items yielded and not yet sent: they go together at the next turn of the event loop, or sooner. */
  pending: Value[];
  /** When the oldest of them was yielded (`perfNow()`). */
  pendingSince: number;
  /** Some item was sent: the consumer, who asked for the first, has had something. */
  sent: boolean;
  stopped: boolean;
  /** Wakes the stream waiting for credit, or for the word to stop. */
  wake: (() => void) | undefined;
}

/** By call id, which the parent gives out once per process. */
const streams = new Map<number, RunningStream>();

/** Sends what a stream yielded and has not sent: before its answer, and before a callback's event. */
export function flushItems(call: number, notify: (notice: ChildNotice) => void): void {
  const stream = streams.get(call);
  if (!stream || stream.pending.length === 0) return;
  const items = stream.pending;
  stream.pending = [];
  stream.sent = true;
  notify(['run-in-process:emit', stream.batch, call, ['items', items]]);
}

/**
 * Items wait for company only briefly. A generator that computes between its yields never lets
 * the event loop turn, so a flush left to the next turn would hold its items until it ends (and a
 * consumer with an idleTimeout would take it for idle). An item goes at once, before the generator
 * runs again, when it is the stream's first (its consumer is waiting for it), when the step that
 * made it was slow (the next will be too), or when the items before it have waited this long.
 */
const holdMs = 1;

/** A child that exits (process.exit in a generator) sends first what its streams yielded. */
let flushOnExit = false;

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
  hooks: StreamHooks,
): Promise<Answer> {
  // What the stream came to, as the code here saw it (not as encoded): for the child's tracing.
  const threw = (error: unknown, stage: 'call' | 'send' = 'call'): Answer => {
    hooks.ended?.({ error });
    return thrownAnswer(error, stage, stage === 'call' ? exportNameOf : undefined);
  };
  const returned = (value: unknown): Answer => {
    hooks.ended?.({ value });
    return answerWith(value);
  };
  let generator: AsyncIterator<unknown>;
  try {
    generator = asyncIteratorOf(start());
  } catch (error) {
    return threw(error);
  }
  const stream: RunningStream = {
    batch,
    notify,
    credit: window,
    pending: [],
    pendingSince: 0,
    sent: false,
    stopped: false,
    wake: undefined,
  };
  streams.set(call, stream);
  if (!flushOnExit) {
    flushOnExit = true;
    process.on('exit', () => {
      for (const [id, running] of streams) flushItems(id, running.notify);
    });
  }
  const flush = () => flushItems(call, notify);
  // A generator that yields at once runs in microtasks only, and the parent's credit would wait in
  // the pipe until this child ran dry: a turn of the event loop every half window reads it in time
  // (and sends what was yielded meanwhile, in one message).
  const turnEvery = Math.max(1, Math.floor(window / 2));
  try {
    for (let index = 0; ; index++) {
      if (index % turnEvery === 0 && index > 0) await eventLoopTurn();
      if (stream.credit === 0) flush();
      while (stream.credit === 0 && !stream.stopped) await creditOrStop(stream);
      if (stream.stopped) return await stopped(generator, threw, returned);
      let step: { done: boolean; value: unknown };
      const stepStart = perfNow();
      try {
        const result: unknown = await generator.next();
        // As `for await` does: a result that is no object (code here patched the generator) is a TypeError.
        if (typeof result !== 'object' || result === null) {
          throw new TypeError(`Iterator result ${String(result)} is not an object`);
        }
        const { done, value } = result as IteratorResult<unknown>;
        step = { done: Boolean(done), value };
      } catch (error) {
        return threw(error);
      }
      if (step.done) return returned(step.value);
      // The consumer left while this item was being made: it is dropped, and the generator stopped.
      if (stream.stopped) return await stopped(generator, threw, returned);
      let item: Value;
      try {
        item = encodedItem(step.value, `yield[${index}]`);
      } catch (error) {
        // The stream cannot go on without this item: the generator is stopped, and the child lives,
        // unless its `finally` does not end within the grace a consumer's `break` gets: the error is
        // answered then, and the child, left with the generator, retires (a hostile review's
        // `finally` awaited a promise that never settled, and the stream waited for ever).
        if (!(await stoppedWithin(generator, finallyGraceMs))) hooks.abandoned();
        return threw(error, 'send');
      }
      stream.credit--;
      const now = perfNow();
      if (stream.pending.push(item) === 1) stream.pendingSince = now;
      if (!stream.sent || now - stepStart >= holdMs || now - stream.pendingSince >= holdMs) flush();
      // Else at the next turn of the event loop at the latest: at once if the generator then waits.
      else if (stream.pending.length === 1) setImmediate(flush);
    }
  } finally {
    flush();
    streams.delete(call);
  }
}

/** As the parent gives a stream told to stop (pool/stream-stops.ts). */
const finallyGraceMs = 5_000;

/** Whether the generator's `finally` blocks ended within `ms` (what they threw does not matter here). */
function stoppedWithin(generator: AsyncIterator<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const ended = generator.return?.().then(
    () => true,
    () => true,
  );
  return Promise.race([ended ?? true, late]).finally(() => clearTimeout(timer));
}

/** Runs the generator's `finally` blocks; the answer is what they threw, if they did. */
async function stopped(
  generator: AsyncIterator<unknown>,
  threw: (error: unknown) => Answer,
  returned: (value: unknown) => Answer,
): Promise<Answer> {
  try {
    await generator.return?.();
  } catch (error) {
    return threw(error);
  }
  return returned(undefined);
}

/** What the child's runner hears of a stream beside its answer. */
export interface StreamHooks {
  /** Its generator's `finally` did not end in time, and is left running: the child must retire. */
  abandoned(): void;
  /** Its end as the code here saw it: the generator's error (or the item's), or what it returned. */
  ended?(end: { error: unknown } | { value: unknown }): void;
}

function eventLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
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
