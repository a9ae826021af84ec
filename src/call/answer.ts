import { decodeThrown } from '../codec/thrown-decode.js';
import { asBuffer, decodeValue, ownView } from '../codec/values.js';
import { ModuleLoadError, RunInProcessError } from '../errors.js';
import { AnswerSlot, ThrownSlot, targetNotFoundCode, type Answer, type EncodedThrown } from '../protocol.js';
import { resolveErrorClass } from '../shared/error-classes.js';
import { fsReadHint } from '../shared/sandbox-hint.js';
import { processState } from '../shared/process-state.js';
import type { ModuleEntry } from '../shared/registry.js';
import { joinStacks, withCallerFrames } from './call-stacks.js';
import { isEntryScript } from './entry-script.js';
import type { Recipe } from './recipe.js';
import { messageOf } from '../codec/describe-thrown.js';

type Thrown = Extract<Answer, [tag: 'thrown', ...unknown[]]>;

/** An answer that is a value, as a local call would return it; synchronous, for the common case. */
export function returnedValue(answer: Exclude<Answer, Thrown>, root?: string): unknown {
  if (answer[0] === 'value') return decodeValue(answer[AnswerSlot.payload], root);
  const value = answer[AnswerSlot.payload];
  return answer[AnswerSlot.buffer] ? asBuffer(value) : ownView(value);
}

/**
 * An answer that is a throw, rebuilt as a local call would have thrown it. `where` names the
 * process that ran the call, for messages: 'the child process', or this one in inline mode.
 */
export async function rethrow(answer: Thrown, recipe: Recipe, where: string): Promise<never> {
  const thrown = await rebuildThrown(answer[AnswerSlot.payload], recipe.module, where);
  if (answer[AnswerSlot.stage] !== 'load') throw joinStacks(thrown, where);
  const reason = messageOf(thrown);
  const moduleUrl = recipe.target.module;
  // Imported, but the target is not in it: the message says why, and how it was imported does not matter.
  const hint =
    (thrown as { code?: unknown } | null)?.code === targetNotFoundCode
      ? ''
      : fsReadHint(thrown) ||
        `It imports that module by its file URL, so the module must be importable that way, with the same ` +
          `loader flags (execArgv) the parent uses; its top-level code runs there.` +
          typeScriptHint(moduleUrl, thrown);
  throw withCallerFrames(
    new ModuleLoadError(
      `${capitalized(where)} could not load ${recipe.label} from ${moduleUrl}: ${reason}${hint && `\n${hint}`}`,
      moduleUrl,
      { cause: thrown },
    ),
  );
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * A child that cannot read TypeScript: the parent loaded it through a loader the child did not get.
 * Node 20 refuses the extension; Node ≥ 22.18 strips types but fails on the decorators.
 */
function typeScriptHint(moduleUrl: string, thrown: unknown): string {
  const code = (thrown as { code?: unknown } | null)?.code;
  if (!/\.[cm]?tsx?$/.test(moduleUrl)) return '';
  if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' && !(thrown instanceof SyntaxError)) return '';
  return (
    `\nThe child cannot load this TypeScript module by itself: start the parent with a loader that it passes on ` +
    `(node --import tsx app.ts), or give the pool one: configure({ execArgv: [...process.execArgv, '--import', 'tsx'] }).`
  );
}

async function rebuildThrown(thrown: EncodedThrown, module: ModuleEntry, where: string): Promise<unknown> {
  const needsExports =
    thrown[0] === 'error' &&
    thrown[ThrownSlot.nodes].some((node) => node.exportName !== undefined && !resolveErrorClass(node));
  const moduleExports = needsExports ? await exportsOf(module) : undefined;
  try {
    return decodeThrown(thrown, (node) => resolveErrorClass(node, moduleExports));
  } catch (error) {
    // The child's word is checked, not trusted: a report that cannot be read is not the user's error.
    return new RunInProcessError(
      `${capitalized(where)} threw an error whose report could not be read: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

/**
 * The declaring module's exports in this process, to find an exported error class: as another
 * module runner loaded it (vitest), or else by importing it. The module is loaded already; but if
 * it is still evaluating (a top-level await on this very call), importing it would wait forever,
 * so the entry script is skipped and the wait is bounded.
 */
async function exportsOf(module: ModuleEntry): Promise<object | undefined> {
  const registered = processState.namespaces.get(module.url);
  if (registered) return registered;
  if (isEntryScript(module)) return undefined;
  const timeout = new Promise<undefined>((resolve) => setTimeout(resolve, 500, undefined).unref());
  return Promise.race([import(module.url).catch(() => undefined) as Promise<object | undefined>, timeout]);
}
