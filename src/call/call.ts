import { usageError } from '../errors.js';
import { defaultPoolName, poolDefaults, type RunInProcessOptions } from '../options.js';
import type { Answer } from '../protocol.js';
import { classDefaults } from '../shared/class-options.js';
import { processState } from '../shared/process-state.js';
import { describeMethod, type FunctionEntry, type MethodEntry } from '../shared/registry.js';
import type { CallSpec, ScheduledStream, Scheduler } from '../pool/scheduler.js';
import { CallSlot } from '../protocol.js';
import { type CallContext, callChannel, tracedOwn } from '../shared/tracing.js';
import { aChildProcess, rethrow, returnedValue } from './answer.js';
import { withCallerFrames } from './call-stacks.js';
import { currentCallOptions } from './call-options.js';
import { warnIfEntryScript } from './entry-script.js';
import { nextTickIsFaked } from '../shared/real-clock.js';
import { configuredOptions, countRefused, knowsSandboxedPool, poolOptions, withScheduler } from './pools.js';
import { functionRecipe, methodRecipe, type Recipe, runtimeClassOf } from './recipe.js';
import { RemoteGenerator } from './remote-generator.js';

/**
 * A call, from the decorated method to its result: build the recipe, hand it to its pool's
 * scheduler, and turn the answer back into a value or a rejection whose stack shows both processes.
 */

export function callMethod(method: MethodEntry, self: unknown, args: unknown[]): unknown {
  if (processState.isChild) {
    // Only where some pool is sandboxed and this child is not: a nested call pays nothing otherwise.
    if (process.permission === undefined && knowsSandboxedPool()) {
      const runtimeClass = runtimeClassOf(method, self);
      const pool = method.options.pool ?? classDefaults(runtimeClass).pool;
      const outside = outsideItsSandbox(pool, describeMethod(method, runtimeClass));
      if (outside) return method.streams ? refusedStream(() => Promise.reject(outside)) : Promise.reject(outside);
    }
    return method.streams ? method.impl.apply(self, args) : runHere(() => method.impl.apply(self, args));
  }
  let options: RunInProcessOptions = method.options;
  try {
    options = { ...classDefaults(runtimeClassOf(method, self)), ...method.options };
    const recipe = methodRecipe(method, self, args, options.callbacks === true);
    return method.streams ? stream(recipe, options) : send(recipe, options);
  } catch (error) {
    const refusal = () => refused(withCallerFrames(error), describeMethod(method), method.owner.module.url, options);
    return method.streams ? refusedStream(refusal) : refusal();
  }
}

export function callFunction(fn: FunctionEntry, args: unknown[]): unknown {
  if (processState.isChild) {
    const outside =
      process.permission === undefined && knowsSandboxedPool() && outsideItsSandbox(fn.options.pool, fn.id);
    if (outside) return fn.streams ? refusedStream(() => Promise.reject(outside)) : Promise.reject(outside);
    return fn.streams ? fn.impl(...args) : runHere(() => fn.impl(...args));
  }
  try {
    const recipe = functionRecipe(fn, args, fn.options.callbacks === true);
    return fn.streams ? stream(recipe, fn.options) : send(recipe, fn.options);
  } catch (error) {
    const refusal = () => refused(withCallerFrames(error), fn.id, fn.module.url, fn.options);
    return fn.streams ? refusedStream(refusal) : refusal();
  }
}

/**
 * A call refused before it could be sent (arguments that cannot cross, a method called on the
 * wrong object) is a call all the same: subscribers see it start and fail, as they see one that a
 * full queue refuses (a stream's, at its first next(), where its refusal comes, as a stream's call
 * is traced from there).
 */
function refused(error: unknown, target: string, module: string, options: RunInProcessOptions): Promise<never> {
  const pool = options.pool ?? defaultPoolName;
  // Counted as failed in stats(), as a call the pool could not send is.
  const counted = countRefused(pool);
  const reject = (): Promise<never> => (counted ? counted.then(() => Promise.reject(error)) : Promise.reject(error));
  if (!callChannel.hasSubscribers) return reject();
  const timeout = currentCallOptions()?.timeout ?? options.timeout ?? configuredOptions(pool)?.timeout;
  const context: CallContext = { target, module, pool, timeout, pid: undefined, carrier: {} };
  return tracedOwn(callChannel, context, reject) as Promise<never>;
}

/**
 * A call made inside a child runs there, under that child's rights. One whose pool this process
 * knows to be sandboxed (its module, or one it imports, configured it with `permissions`), made in
 * a child that runs without the permission model, would run the sandboxed code with all of them:
 * refused. (A pool configured only in the parent is not known here: README, Running untrusted code.)
 */
function outsideItsSandbox(pool: string | undefined, label: string): Error | undefined {
  const name = pool ?? defaultPoolName;
  if (configuredOptions(name)?.permissions === undefined) return undefined;
  return usageError(
    `${label} was called from code running in a child process, where calls run in that child, and this child is ` +
      `not sandboxed: ${label}'s pool "${name}" is (permissions). Call it from the parent, which sends it to its ` +
      `sandboxed pool, or run the calling code in a sandboxed pool too.`,
  );
}

/** In a child, decorated code runs where it is: the process is already the isolated one. */
function runHere(run: () => unknown): Promise<unknown> {
  return new Promise((resolve) => resolve(run()));
}

/** A generator whose first `next()` rejects with what `refusal` rejects with (made then, traced then). */
function refusedStream(refusal: () => Promise<never>): AsyncGenerator {
  let once: Promise<never> | undefined;
  const rejection = () => (once ??= refusal());
  return new RemoteGenerator(rejection, rejection, (same) => same);
}

/** How a call is to run: its pool, and its timeout, signal and priority, this call's own first. */
function specOf(recipe: Recipe, options: RunInProcessOptions): { pool: string; spec: CallSpec } {
  warnIfEntryScript(recipe.module);
  if (nextTickIsFaked()) throw fakedNextTick();
  const pool = options.pool ?? defaultPoolName;
  const perCall = currentCallOptions();
  // A pool not configured yet may be in this turn (a configure() just after the first call, while the
  // pool machinery loads): its timeout is then read when the call reaches it (withPoolTimeout).
  const timeout = perCall?.timeout ?? options.timeout ?? configuredOptions(pool)?.timeout;
  return {
    pool,
    spec: {
      timeout,
      signal: perCall?.signal,
      priority: perCall?.priority ?? options.priority ?? 0,
      retries: perCall?.retries ?? options.retries ?? 0,
    },
  };
}

/**
 * A call of an async generator: `this` and the arguments were taken now, as were the call options;
 * the call itself starts on the first `next()`.
 */
function stream(recipe: Recipe, options: RunInProcessOptions): AsyncGenerator {
  const { pool, spec } = specOf(recipe, options);
  const streamSpec = {
    window: options.stream?.window ?? poolDefaults.streamWindow,
    idleTimeout: options.stream?.idleTimeout,
  };
  let place = aChildProcess;
  return new RemoteGenerator(
    async (deliver) =>
      withScheduler(pool, (scheduler) => {
        place = scheduler;
        const start = (traced: CallSpec) =>
          scheduler.stream(
            recipe.task,
            recipe.label,
            withPoolTimeout(traced, pool),
            streamSpec,
            deliver,
            recipe.listener,
          );
        if (!callChannel.hasSubscribers) return start(spec);
        // Traced as a call from the first next() to the generator's end, as its consumer meets it
        // (remote-generator.ts #consumerDone): what the generator returned, or the error the consumer
        // got (the same object), an item that could not be read here among them; for a consumer that
        // left, what the child answered. The consumer hears of the end once the trace has ended.
        const context = contextOf(recipe, pool, spec);
        let started: ScheduledStream | undefined;
        type Met = { value: unknown } | { error: unknown } | undefined;
        let tellDone!: (met: Met) => void;
        const done = new Promise<Met>((resolve) => (tellDone = resolve));
        let unread: { error: unknown } | undefined;
        const ended = callChannel
          .tracePromise(() => {
            carry(recipe, context);
            const stream = start({ ...spec, trace: context });
            started = {
              ...stream,
              unreadable: (error) => {
                unread ??= { error };
                stream.unreadable(error);
              },
              consumerDone: (met) => {
                tellDone(met);
                return ended;
              },
            };
            return stream.answer.then(async (answer) => {
              const met = await done;
              if (unread) throw unread.error;
              if (met) {
                if ('error' in met) throw met.error;
                return met.value;
              }
              return answer[0] === 'thrown' ? rethrow(answer, recipe, place) : returnedValue(answer);
            });
          }, context)
          .then(
            () => {},
            () => {},
          );
        return started!;
      }),
    (answer) => rethrow(answer, recipe, place),
    withCallerFrames,
    spec.signal,
  );
}

function send(recipe: Recipe, options: RunInProcessOptions): Promise<unknown> {
  const { pool, spec } = specOf(recipe, options);
  if (!callChannel.hasSubscribers) return run(recipe, pool, spec);
  const context = contextOf(recipe, pool, spec);
  return tracedOwn(callChannel, context, () => {
    carry(recipe, context);
    return run(recipe, pool, { ...spec, trace: context });
  });
}

/**
 * A call with no timeout of its own gets its pool's, as the pool is configured when the call reaches
 * it; its trace context, made as the call was, says so from then on.
 */
function withPoolTimeout(spec: CallSpec, pool: string): CallSpec {
  if (spec.timeout !== undefined) return spec;
  const timeout = poolOptions(pool).timeout;
  if (timeout === undefined) return spec;
  if (spec.trace) {
    try {
      (spec.trace as CallContext).timeout = timeout; // Made by contextOf(), here.
    } catch {
      // A subscriber froze the context.
    }
  }
  return { ...spec, timeout };
}

function contextOf(recipe: Recipe, pool: string, spec: CallSpec): CallContext {
  return { target: recipe.label, module: recipe.module.url, pool, timeout: spec.timeout, pid: undefined, carrier: {} };
}

/** Subscribers filled the carrier in `start`, which runs before this. */
function carry(recipe: Recipe, context: CallContext): void {
  let carrier: Record<string, string> | undefined;
  try {
    carrier = stringsOf(context.carrier);
  } catch {
    return; // A subscriber made `carrier` a getter that throws.
  }
  if (carrier) recipe.task[CallSlot.carrier] = carrier;
}

/**
 * The carrier's string entries, as W3C headers are: anything else a subscriber put there stays here.
 * Tracing never changes a call's outcome: an entry whose getter throws is left out, and a carrier
 * that cannot be read at all (a Proxy that throws) carries nothing.
 */
function stringsOf(carrier: unknown): Record<string, string> | undefined {
  if (typeof carrier !== 'object' || carrier === null) return undefined;
  let keys: string[];
  try {
    keys = Object.keys(carrier);
  } catch {
    return undefined;
  }
  let strings: Record<string, string> | undefined;
  for (const key of keys) {
    let value: unknown;
    try {
      value = (carrier as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    if (typeof value === 'string') (strings ??= {})[key] = value;
  }
  return strings;
}

async function run(recipe: Recipe, pool: string, spec: CallSpec): Promise<unknown> {
  let answer: Answer;
  let place = aChildProcess;
  let ranIn: Scheduler | undefined;
  try {
    answer = await withScheduler(pool, (scheduler) => {
      place = ranIn = scheduler;
      return scheduler.run(recipe.task, recipe.label, withPoolTimeout(spec, pool), recipe.listener);
    });
  } catch (error) {
    // Its pool could not be made here (a single executable application, say): a call that failed all
    // the same, counted as one refused before it was sent is. Awaited, so that stats() counts it once
    // the caller hears of it.
    if (ranIn === undefined) await countRefused(pool);
    throw withCallerFrames(error);
  }
  if (answer[0] !== 'thrown') {
    try {
      return returnedValue(answer);
    } catch (error) {
      // Written by the child, but not to be rebuilt here (nested too deeply): the call failed.
      ranIn?.unreadable();
      throw error;
    }
  }
  // Awaited, not returned: V8's async stack trace, which the caller's frames are read from, follows awaits.
  return await rethrow(answer, recipe, place);
}

function fakedNextTick(): Error {
  return usageError(
    'process.nextTick is faked (sinon.useFakeTimers() fakes it unless told not to): Node waits on it to talk ' +
      'with a child process, so this call could never reach its child nor be answered. Leave it out of the fake ' +
      "timers: sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', " +
      "'setImmediate', 'clearImmediate', 'Date'] }), or vi.useFakeTimers() without 'nextTick' in toFake.",
  );
}
