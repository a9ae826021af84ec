import type { RunInProcessOptions } from '../options.js';
import type { Answer } from '../protocol.js';
import { classDefaults } from '../shared/class-options.js';
import { processState } from '../shared/process-state.js';
import type { FunctionEntry, MethodEntry } from '../shared/registry.js';
import type { CallSpec, Scheduler } from '../pool/scheduler.js';
import { CallSlot } from '../protocol.js';
import { type CallContext, callChannel } from '../shared/tracing.js';
import { rethrow, returnedValue } from './answer.js';
import { withCallerFrames } from './call-stacks.js';
import { currentCallOptions } from './call-options.js';
import { warnIfEntryScript } from './entry-script.js';
import { defaultPoolName, poolOptions, schedulerFor } from './pools.js';
import { functionRecipe, methodRecipe, type Recipe } from './recipe.js';

/**
 * A call, from the decorated method to its result: build the recipe, hand it to its pool's
 * scheduler, and turn the answer back into a value or a rejection whose stack shows both processes.
 */

export function callMethod(method: MethodEntry, self: unknown, args: unknown[]): Promise<unknown> {
  if (processState.isChild) return runHere(() => method.impl.apply(self, args));
  try {
    const recipe = methodRecipe(method, self, args);
    return send(recipe, { ...classDefaults(recipe.runtimeClass), ...method.options });
  } catch (error) {
    return Promise.reject(withCallerFrames(error));
  }
}

export function callFunction(fn: FunctionEntry, args: unknown[]): Promise<unknown> {
  if (processState.isChild) return runHere(() => fn.impl(...args));
  try {
    return send(functionRecipe(fn, args), fn.options);
  } catch (error) {
    return Promise.reject(withCallerFrames(error));
  }
}

/** In a child, decorated code runs where it is: the process is already the isolated one. */
function runHere(run: () => unknown): Promise<unknown> {
  return new Promise((resolve) => resolve(run()));
}

function send(recipe: Recipe, options: RunInProcessOptions): Promise<unknown> {
  warnIfEntryScript(recipe.module);
  const pool = options.pool ?? defaultPoolName;
  const perCall = currentCallOptions();
  const timeout = perCall?.timeout ?? options.timeout ?? poolOptions(pool).timeout;
  const spec: CallSpec = { timeout, signal: perCall?.signal, priority: perCall?.priority ?? options.priority ?? 0 };
  if (!callChannel.hasSubscribers) return run(recipe, pool, spec);
  const context: CallContext = {
    target: recipe.label,
    module: recipe.module.url,
    pool,
    timeout,
    pid: undefined,
    carrier: {},
  };
  return callChannel.tracePromise(() => {
    // Subscribers filled the carrier in `start`, which runs before this.
    const carrier = stringsOf(context.carrier);
    if (carrier) recipe.task[CallSlot.carrier] = carrier;
    return run(recipe, pool, { ...spec, trace: context });
  }, context);
}

/** The carrier's string entries, as W3C headers are: anything else a subscriber put there stays here. */
function stringsOf(carrier: unknown): Record<string, string> | undefined {
  if (typeof carrier !== 'object' || carrier === null) return undefined;
  let strings: Record<string, string> | undefined;
  for (const [key, value] of Object.entries(carrier)) if (typeof value === 'string') (strings ??= {})[key] = value;
  return strings;
}

async function run(recipe: Recipe, pool: string, spec: CallSpec): Promise<unknown> {
  let answer: Answer;
  let scheduler: Scheduler;
  try {
    const loading = schedulerFor(pool);
    scheduler = loading instanceof Promise ? await loading : loading;
    answer = await scheduler.run(recipe.task, recipe.label, spec);
  } catch (error) {
    throw withCallerFrames(error);
  }
  if (answer[0] !== 'thrown') return returnedValue(answer);
  // Awaited, not returned: V8's async stack trace, which the caller's frames are read from, follows awaits.
  return await rethrow(answer, recipe, scheduler.runsIn);
}
