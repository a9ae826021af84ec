import { abortedOf } from '../pool/abort-watch.js';
import type { Answer, Value } from '../protocol.js';
import type { ScheduledStream } from '../pool/scheduler.js';
import { returnedValue } from './answer.js';
import { isInstance, RunInProcessError, usageError } from '../errors.js';

type Thrown = Extract<Answer, [tag: 'thrown', ...unknown[]]>;

/** How a stream ended: its answer, or the pool's error (timeout, crash, abort, shutdown). */
type End = { answer: Answer } | { error: unknown };

/**
 * A stream holds its child until it ends. One its consumer dropped without finishing it (no
 * `break`, no `return()`) is stopped when it is garbage-collected, if it is: its child is freed.
 */
const dropped = new FinalizationRegistry<ScheduledStream>((stream) => stream.stop());
/** The same, whatever the child did: a stream dropped half-read is done with, for its trace. */
const droppedDone = new FinalizationRegistry<() => unknown>((done) => void done());

/**
 * What an `async *` method returns in the parent: an async generator whose items a child yields.
 * It behaves as a local one does: nothing runs until the first `next()`; calls to `next()`,
 * `return()` and `throw()` are answered in turn; items come in order, then the return value or
 * the error; once done it stays done. Leaving early (`break`, `return()`, `throw()`) stops the
 * child's generator, whose `finally` blocks run there.
 */
export class RemoteGenerator<T, R> implements AsyncGenerator<T, R, unknown> {
  #stream: ScheduledStream | undefined;
  /** The call being made, from the first next() until its stream is known. */
  #beginning: Promise<void> | undefined;
  /** Whether a request has waited for the call to be made (#next). */
  #begun = false;
  #done = false;
  /** Apart from the generator, so that the pool, which feeds it, does not keep the generator alive. */
  readonly #inbox = new Inbox();
  /** Requests are answered one after another, as a local generator answers them: the last one's turn. */
  #queue: Promise<void> = Promise.resolve();
  /** Requests not yet answered: with none, an item already here is handed over at once. */
  #queued = 0;
  /** Whether the stream was told that its consumer is done with it (#consumerDone). */
  #doneTold = false;
  /** Items handed over so far: the next one's index, for messages (`yield[3]`). */
  #taken = 0;

  constructor(
    /** Starts the call (the first `next()`). */
    private readonly start: (deliver: (item: Value) => void) => Promise<ScheduledStream>,
    /** A thrown answer as the error a local generator would have thrown. */
    private readonly rethrow: (answer: Thrown) => Promise<never>,
    /** An error of the pool, with the caller's frames. */
    private readonly poolError: (error: unknown) => unknown,
    /** The call's AbortSignal (withCallOptions), if it has one. */
    private readonly signal?: AbortSignal,
  ) {}

  next(...sent: [] | [unknown]): Promise<IteratorResult<T, R>> {
    // A local generator's `yield` would evaluate to it; here the child runs ahead of its consumer, and
    // the `yield` it answers was passed long ago. Refused, not dropped: the generator would go on with
    // undefined where its code expects the value. (`for await` and `yield*` pass nothing.)
    if (sent.length > 0 && sent[0] !== undefined) {
      return Promise.reject(
        usageError(
          `A stream's next() takes no value (got ${typeof sent[0]}): its child runs the generator ahead of its ` +
            `consumer (up to stream.window items), so the value could not reach the yield it answers. Pass what ` +
            `the generator needs as arguments, or a callback (callbacks: true) that it calls for it.`,
        ),
      );
    }
    // The common case, an item waiting and nothing before this request: no queue, no extra turns.
    const stream = this.#stream;
    if (this.#queued === 0 && stream && !this.#done && this.#inbox.items.length > 0 && !this.#aborted()) {
      stream.pull();
      const item = this.#inbox.items.shift()!;
      try {
        return Promise.resolve({ done: false, value: this.#valueOf(item) });
      } catch (error) {
        return this.#enqueue(async () => {
          await this.#stop(false);
          throw error;
        });
      }
    }
    // The first next() makes the call now, as a call of an async method is made when it is called:
    // a shutdown() in this same turn then finds it, rather than a pool started again after it.
    if (this.#queued === 0 && !this.#stream && !this.#done && !this.#beginning) {
      this.#beginning = this.#begin();
      this.#beginning.catch(() => {}); // Its error is the first next()'s (#next).
    }
    return this.#enqueue(() => this.#next());
  }

  return(value?: R | PromiseLike<R>): Promise<IteratorResult<T, R>> {
    return this.#handled(async () => {
      let resolved: R;
      try {
        resolved = (await value) as R;
      } catch (error) {
        // As locally: a rejected value is thrown at the generator, which ends, and return() rejects,
        // with what a `finally` threw if one did (#stop), else with the reason.
        await this.#stop(true);
        throw error;
      }
      await this.#stop(true);
      return { done: true, value: resolved };
    });
  }

  throw(error?: unknown): Promise<IteratorResult<T, R>> {
    // The child runs ahead of its consumer, so `error` cannot reach the `yield` it would be thrown at
    // (a `catch` there does not see it): the generator is stopped, and throw() rejects with `error`,
    // or, as locally, with what a `finally` threw on the way out.
    return this.#handled(async () => {
      await this.#stop(true);
      throw error;
    });
  }

  /**
   * A request to leave, whose rejection left unheard is not an unhandled rejection: cleanup code
   * that calls `void stream.return()` did not bring the process down, and still does not.
   */
  #handled(request: () => Promise<IteratorResult<T, R>>): Promise<IteratorResult<T, R>> {
    const result = this.#enqueue(request);
    result.catch(() => {});
    return result;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #enqueue(request: () => Promise<IteratorResult<T, R>>): Promise<IteratorResult<T, R>> {
    // Each request's turn ends as it does, and the next one waits for that turn, which is taken
    // before anything of this request runs: a request made from inside it (a `then` getter of the
    // value given to return(), a tracing subscriber) waits behind it.
    let turnOver!: () => void;
    const previous = this.#queue;
    this.#queue = new Promise<void>((resolve) => (turnOver = resolve));
    const run = async (): Promise<IteratorResult<T, R>> => {
      try {
        return await request();
      } finally {
        this.#queued--;
        turnOver();
      }
    };
    // With nothing before it, the request runs now, not in a then(): its promise then has no
    // reaction but its consumer's `await`, and V8 keeps the consumer's frames (`at async consume
    // (app.js:3)`) for the stack of an error the stream ends with. It follows a promise only to a
    // single `await` of it: a then() of a queue, or a second reaction, had lost them. A request made
    // while another is answered waits through the queue, and does without them.
    return this.#queued++ === 0 ? run() : previous.then(run);
  }

  async #next(): Promise<IteratorResult<T, R>> {
    if (this.#beginning && !this.#begun) {
      // The first request, whose call next() made at once: its error, if any, is this request's.
      this.#begun = true;
      await this.#beginning;
    } else {
      if (this.#done) return { done: true, value: undefined as R };
      if (this.#stream) this.#stream.pull();
      else {
        this.#begun = true;
        await (this.#beginning = this.#begin());
      }
    }
    const inbox = this.#inbox;
    for (;;) {
      if (this.#aborted()) inbox.items.length = 0;
      const item = inbox.items.shift();
      if (item) {
        try {
          return { done: false, value: this.#valueOf(item) };
        } catch (error) {
          // An item that cannot be read here ends the stream, as its error.
          await this.#stop(false);
          throw error;
        }
      }
      if (inbox.end) return await this.#finish(inbox.end); // Awaited: the caller's frames (#enqueue).
      this.#stream?.waiting(true);
      await new Promise<void>((resolve) => (inbox.wake = resolve));
      this.#stream?.waiting(false);
    }
  }

  /**
   * An abort means stop now: the items not taken yet are dropped, and the next request gets the
   * stream's end, the AbortError (which the pool may settle a turn after the abort: it is awaited).
   * Not when the stream had ended before (on its own, or with the pool's error): the abort came too
   * late to stop anything, and the end is what it was.
   */
  #aborted(): boolean {
    return abortedOf(this.signal) && !this.#inbox.endedBeforeAbort;
  }

  #valueOf(item: Value): T {
    return this.#rebuilt(item, `yield[${this.#taken++}]`) as T;
  }

  /**
   * An item or the return value, rebuilt here. One written by the child but not to be rebuilt here
   * ends the stream as its error: the stream failed, not its generator (stats, tracing).
   */
  #rebuilt(value: Exclude<Answer, Thrown>, root?: string): unknown {
    try {
      return returnedValue(value, root);
    } catch (error) {
      this.#stream?.unreadable(error);
      throw error;
    }
  }

  async #begin(): Promise<void> {
    const inbox = this.#inbox;
    try {
      this.#stream = await this.start((item) => inbox.add(item));
    } catch (error) {
      this.#done = true;
      throw error;
    }
    const stream = this.#stream;
    // Held only while a request waits for it (#next), as the process is not held for a local generator.
    stream.waiting(false);
    dropped.register(this, stream, stream);
    // Not through `this`: what the pool holds (its answer's handlers) must not keep the generator
    // alive, or a stream dropped half-read would never be collected, and its child never stopped.
    const signal = this.signal;
    stream.answer.then(
      (answer) => inbox.ended({ answer }, !abortedOf(signal)),
      (error: unknown) => inbox.ended({ error }, !abortedOf(signal)),
    );
    stream.answer.finally(() => dropped.unregister(stream)).catch(() => {});
    const { consumerDone } = stream;
    if (consumerDone) droppedDone.register(this, () => consumerDone(), stream);
  }

  /**
   * The consumer is done with the stream: it reached its end or its error (`met`), or left it. Its
   * trace ends then (call.ts), once the child has answered too, with what the consumer met: an item
   * or a return value it could not rebuild here fails it, whatever the child answered. Settles once
   * the trace has ended, as a call's caller hears of its end after its trace does.
   */
  #consumerDone(met?: { value: unknown } | { error: unknown }): Promise<void> | undefined {
    const stream = this.#stream;
    if (!stream || this.#doneTold) return undefined;
    this.#doneTold = true;
    droppedDone.unregister(stream);
    return stream.consumerDone?.(met);
  }

  async #finish(end: End): Promise<IteratorResult<T, R>> {
    this.#done = true;
    let met: { value: R } | { error: unknown };
    try {
      if ('error' in end) throw this.poolError(end.error);
      const answer = end.answer;
      // rethrow() always throws: the error the generator threw, rebuilt.
      if (answer[0] === 'thrown') await this.rethrow(answer);
      met = { value: this.#rebuilt(answer as Exclude<Answer, Thrown>) as R };
    } catch (error) {
      met = { error };
    }
    await this.#consumerDone(met);
    if ('error' in met) throw met.error;
    return { done: true, value: met.value };
  }

  /**
   * The consumer leaves. A stream still running is told to stop, and this waits for its answer:
   * what the generator's `finally` threw rejects a `return()`, as locally. A stream that ended on
   * its own meanwhile, or that had to be killed, is simply over.
   */
  async #stop(rejectWithFinally: boolean): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    void this.#consumerDone();
    this.#inbox.items.length = 0;
    const stream = this.#stream;
    if (!stream || this.#inbox.end) return;
    stream.stop();
    stream.waiting(true);
    const end = await new Promise<End>((resolve) =>
      stream.answer.then(
        (answer) => resolve({ answer }),
        (error: unknown) => resolve({ error }),
      ),
    );
    if (!rejectWithFinally) return;
    if ('answer' in end) {
      if (end.answer[0] === 'thrown') await this.rethrow(end.answer);
    } else if (!isInstance(end.error, RunInProcessError)) {
      // A callback of the caller's threw as the generator's `finally` called it: the call failed with
      // that error, as the `finally` would have thrown it locally, and return() rejects with it.
      throw end.error;
    }
  }
}

/**
 * A local async generator inherits from %AsyncIteratorPrototype%, and so does this one: what Node
 * gives every async iterator there comes with it, such as `Symbol.asyncDispose` (Node 24), which
 * `await using stream = exporter.rows(q)` calls on leaving the block, and which calls `return()`.
 */
Object.setPrototypeOf(
  RemoteGenerator.prototype,
  Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}.prototype)) as object,
);

/** What has come from the child and is not yet taken: items, then the end. */
class Inbox {
  readonly items: Value[] = [];
  end: End | undefined;
  /** The end came before any abort of the call's signal (RemoteGenerator #aborted). */
  endedBeforeAbort = false;
  /** Wakes the request waiting for an item or the end. */
  wake: (() => void) | undefined;

  add(item: Value): void {
    this.items.push(item);
    this.#wakeUp();
  }

  ended(end: End, beforeAbort: boolean): void {
    this.end = end;
    this.endedBeforeAbort = beforeAbort;
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
