import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { currentCallOptions } from '../call-options.js';
import { runTask } from '../child/run-task.js';
import { resolveErrorClass } from '../codec/error-classes.js';
import { decodeThrown } from '../codec/errors.js';
import { decodeValue } from '../codec/values.js';
import { classDefaults } from '../decorator/class-defaults.js';
import { isChildProcess } from '../environment.js';
import { ModuleLoadError } from '../errors.js';
import type { RunInProcessOptions } from '../options.js';
import { childPool, poolTimeout } from '../pool/pools.js';
import type { EncodedThrown, Reply } from '../protocol.js';
import { functionRecipe, methodRecipe, type Recipe } from './recipe.js';
import type { FunctionEntry, MethodEntry, ModuleEntry } from './registry.js';

/**
 * A call, from the decorated method to its result: build the recipe, send it to a pool, and turn
 * the reply back into a value or a rejection whose stack shows both processes.
 */

export function callMethod(method: MethodEntry, self: unknown, args: unknown[], caller: Function): Promise<unknown> {
  if (isChildProcess()) return runHere(() => method.impl.apply(self, args));
  const callSite = captureCallSite(caller);
  try {
    const recipe = methodRecipe(method, self, args);
    const options = { ...classDefaults(recipe.runtimeClass), ...method.options };
    return send(recipe, method.owner.module, options, callSite);
  } catch (error) {
    return Promise.reject(withCallerFrames(error, callSite));
  }
}

export function callFunction(fn: FunctionEntry, args: unknown[], caller: Function): Promise<unknown> {
  if (isChildProcess()) return runHere(() => fn.impl(...args));
  const callSite = captureCallSite(caller);
  try {
    return send(functionRecipe(fn, args), fn.module, fn.options, callSite);
  } catch (error) {
    return Promise.reject(withCallerFrames(error, callSite));
  }
}

/** In a child, decorated code runs where it is: the process is already the isolated one. */
function runHere(run: () => unknown): Promise<unknown> {
  return new Promise((resolve) => resolve(run()));
}

async function send(recipe: Recipe, module: ModuleEntry, options: RunInProcessOptions, callSite: CallSite) {
  warnIfEntryScript(module);
  const poolName = options.pool ?? 'default';
  const perCall = currentCallOptions();
  const request = {
    target: recipe.target,
    payload: recipe.payload,
    args: recipe.args,
    label: recipe.label,
    timeout: perCall?.timeout ?? options.timeout ?? poolTimeout(poolName),
    signal: perCall?.signal,
  };
  let reply: Reply;
  try {
    reply = inlineMode()
      ? await runTask({ kind: 'call', id: 0, notifyStart: false, ...request }, () => {})
      : await childPool(poolName).run(request);
  } catch (error) {
    throw withCallerFrames(error, callSite);
  }
  if (reply.kind === 'primitive') return reply.value;
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
      callSite,
    );
  }
  throw joinStacks(thrown, callSite);
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

/** `RUN_IN_PROCESS_INLINE=1` runs calls in this process through the same serialization, for debuggers and fast tests. */
function inlineMode(): boolean {
  const flag = process.env['RUN_IN_PROCESS_INLINE'];
  return flag !== undefined && flag !== '' && flag !== '0' && flag !== 'false';
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

type CallSite = { stack?: string };

/** Captured per call; V8 formats the frames only if an error needs them. */
function captureCallSite(caller: Function): CallSite {
  const site: CallSite = {};
  Error.captureStackTrace(site, caller);
  return site;
}

function callerFrames(callSite: CallSite): string {
  const stack = callSite.stack ?? '';
  return stack.slice(stack.indexOf('\n') + 1);
}

/** Our own errors are raised in a callback; the caller's frames say more than where they were built. */
function withCallerFrames(error: unknown, callSite: CallSite): unknown {
  if (error instanceof Error) error.stack = `${error.name}: ${error.message}\n${callerFrames(callSite)}`;
  return error;
}

const libraryFrame = /[\\/](run-in-process[\\/]dist|tinypool[\\/]dist)[\\/]/;

/** The child's frames (without this library's and tinypool's), then the caller's in this process. */
function joinStacks(thrown: unknown, callSite: CallSite): unknown {
  if (!(thrown instanceof Error) || typeof thrown.stack !== 'string') return thrown;
  const childLines = thrown.stack.split('\n').filter((line) => !libraryFrame.test(line) && !line.includes('node:internal/'));
  thrown.stack = `${childLines.join('\n')}\n    at <the child process above, the parent process (pid ${process.pid}) below>\n${callerFrames(callSite)}`;
  return thrown;
}

let entryScript: string | null | undefined;

function isEntryScript(module: ModuleEntry): boolean {
  if (entryScript === undefined) {
    const main = process.argv[1];
    entryScript = null;
    if (main) {
      for (const candidate of [main, `${main}.js`, `${main}.mjs`, `${main}.cjs`, `${main}.ts`]) {
        try {
          entryScript = realpathSync(candidate);
          break;
        } catch {
          // Not this spelling of the entry script.
        }
      }
    }
  }
  try {
    return entryScript !== null && realpathSync(fileURLToPath(module.importUrl)) === entryScript;
  } catch {
    return false;
  }
}

function warnIfEntryScript(module: ModuleEntry): void {
  if (module.warned) return;
  module.warned = true;
  if (!isEntryScript(module)) return;
  process.emitWarning(
    `run-in-process: ${module.importUrl} is the entry script, and the child process imports the ` +
      `declaring module, so this script's top-level code runs again in every child. Move the decorated ` +
      `code into its own module, or guard the script's side effects with if (!isChildProcess()) { … }.`,
    { code: 'RUN_IN_PROCESS_ENTRY_SCRIPT' },
  );
}
