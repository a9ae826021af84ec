import { currentCallOptions } from '../call-options.js';
import { runTask } from '../child/run-task.js';
import { resolveErrorClass } from '../codec/error-classes.js';
import { decodeThrown } from '../codec/thrown.js';
import { asBuffer, decodeValue } from '../codec/values.js';
import { classDefaults } from '../decorator/class-defaults.js';
import { isChildProcess } from '../environment.js';
import { ModuleLoadError } from '../errors.js';
import type { RunInProcessOptions } from '../options.js';
import type { CallRequest } from '../pool/child-pool.js';
import { childPool, poolTimeout } from '../pool/pools.js';
import type { CallTask, EncodedThrown, Reply } from '../protocol.js';
import { joinStacks, withCallerFrames } from './call-stacks.js';
import { isEntryScript, warnIfEntryScript } from './entry-script.js';
import { functionRecipe, methodRecipe, type Recipe } from './recipe.js';
import type { FunctionEntry, MethodEntry, ModuleEntry } from './registry.js';

/**
 * A call, from the decorated method to its result: build the recipe, send it to a pool, and turn
 * the reply back into a value or a rejection whose stack shows both processes.
 */

export function callMethod(method: MethodEntry, self: unknown, args: unknown[]): Promise<unknown> {
  if (isChildProcess()) return runHere(() => method.impl.apply(self, args));
  try {
    const recipe = methodRecipe(method, self, args);
    const options = { ...classDefaults(recipe.runtimeClass), ...method.options };
    return send(recipe, method.owner.module, options);
  } catch (error) {
    return Promise.reject(withCallerFrames(error));
  }
}

export function callFunction(fn: FunctionEntry, args: unknown[]): Promise<unknown> {
  if (isChildProcess()) return runHere(() => fn.impl(...args));
  try {
    return send(functionRecipe(fn, args), fn.module, fn.options);
  } catch (error) {
    return Promise.reject(withCallerFrames(error));
  }
}

/** In a child, decorated code runs where it is: the process is already the isolated one. */
function runHere(run: () => unknown): Promise<unknown> {
  return new Promise((resolve) => resolve(run()));
}

async function send(recipe: Recipe, module: ModuleEntry, options: RunInProcessOptions) {
  warnIfEntryScript(module);
  const poolName = options.pool ?? 'default';
  const perCall = currentCallOptions();
  const request: CallRequest = {
    targetKey: recipe.targetKey,
    input: recipe.input,
    buffers: recipe.buffers,
    label: recipe.label,
    timeout: perCall?.timeout ?? options.timeout ?? poolTimeout(poolName),
    signal: perCall?.signal,
  };
  let reply: Reply;
  try {
    reply = inlineMode() ? await runInline(request) : await childPool(poolName).run(request);
  } catch (error) {
    throw withCallerFrames(error);
  }
  if (reply.kind === 'as-is') return reply.buffer ? asBuffer(reply.value) : reply.value;
  if (reply.kind === 'value') return decodeValue(reply.value);
  if (reply.kind !== 'thrown') throw new Error(`Unexpected reply "${reply.kind}" for ${recipe.label}.`);
  const thrown = await rebuildThrown(reply.thrown, module);
  if (reply.stage === 'load') {
    const reason = thrown instanceof Error ? thrown.message : String(thrown);
    throw withCallerFrames(
      new ModuleLoadError(
        `The child process could not load ${recipe.label} from ${recipe.target.module}: ${reason}\n` +
          `The child imports that module fresh, so it must be importable by its file URL, with the same ` +
          `loader flags (execArgv) the parent uses; its top-level code runs in the child.` +
          typeScriptHint(recipe.target.module, thrown),
        recipe.target.module,
        { cause: thrown },
      ),
    );
  }
  throw joinStacks(thrown);
}

/**
 * A child that cannot read TypeScript: the parent loaded it through a loader the child did not get.
 * Node 20 refuses the extension; Node ≥ 22.18 strips types but fails on the decorators.
 */
function typeScriptHint(moduleUrl: string, thrown: unknown): string {
  const code = (thrown as { code?: unknown } | null)?.code;
  if (!/\.[cm]?tsx?$/.test(moduleUrl) || (code !== 'ERR_UNKNOWN_FILE_EXTENSION' && !(thrown instanceof SyntaxError))) return '';
  return (
    `\nThe child cannot load this TypeScript module by itself: start the parent with a loader that it passes on ` +
    `(node --import tsx app.ts), or give the pool one: configure({ execArgv: [...process.execArgv, '--import', 'tsx'] }).`
  );
}

/** Inline calls still copy what they send and receive, as a child would: nothing is shared by reference. */
async function runInline(request: CallRequest): Promise<Reply> {
  const input = Array.isArray(request.input) ? structuredClone(request.input) : request.input;
  const task: CallTask = ['call', request.targetKey, 0, input, request.buffers, false];
  const reply = await runTask(task, () => {});
  return reply.kind === 'as-is' ? { ...reply, value: structuredClone(reply.value) } : reply;
}

let inline: boolean | undefined;

/**
 * `RUN_IN_PROCESS_INLINE=1` runs calls in this process through the same serialization, for
 * debuggers and fast tests. Read once: `process.env` is a slow lookup to make on every call.
 */
function inlineMode(): boolean {
  if (inline === undefined) {
    const flag = process.env['RUN_IN_PROCESS_INLINE'];
    inline = flag !== undefined && flag !== '' && flag !== '0' && flag !== 'false';
  }
  return inline;
}

async function rebuildThrown(thrown: EncodedThrown, module: ModuleEntry): Promise<unknown> {
  const needsExports = thrown.kind === 'error' && thrown.nodes.some((node) => node.exportName !== undefined && !resolveErrorClass(node));
  const moduleExports = needsExports ? await exportsOf(module) : undefined;
  return decodeThrown(thrown, (node) => resolveErrorClass(node, moduleExports));
}

/**
 * The declaring module's exports in this process, to find an exported error class. The module is
 * loaded already; but if it is still evaluating (a top-level await on this very call), importing
 * it would wait forever, so the entry script is skipped and the wait is bounded.
 */
async function exportsOf(module: ModuleEntry): Promise<object | undefined> {
  if (isEntryScript(module)) return undefined;
  const timeout = new Promise<undefined>((resolve) => setTimeout(resolve, 500, undefined).unref());
  return Promise.race([import(module.key).catch(() => undefined) as Promise<object | undefined>, timeout]);
}
