import { decodeThrown } from '../codec/thrown.js';
import { asBuffer, decodeValue } from '../codec/values.js';
import { ModuleLoadError } from '../errors.js';
import { AnswerSlot, ThrownSlot, type Answer, type EncodedThrown } from '../protocol.js';
import { resolveErrorClass } from '../shared/error-classes.js';
import type { ModuleEntry } from '../shared/registry.js';
import { joinStacks, withCallerFrames } from './call-stacks.js';
import { isEntryScript } from './entry-script.js';
import type { Recipe } from './recipe.js';

/** The child's answer to a call, turned into what a local call would give: a value, or a throw. */
export async function settle(answer: Answer, recipe: Recipe): Promise<unknown> {
  if (answer[0] === 'as-is') {
    const value = answer[AnswerSlot.payload];
    return answer[AnswerSlot.buffer] ? asBuffer(value) : value;
  }
  if (answer[0] === 'value') return decodeValue(answer[AnswerSlot.payload]);
  const thrown = await rebuildThrown(answer[AnswerSlot.payload], recipe.module);
  if (answer[AnswerSlot.stage] === 'call') throw joinStacks(thrown);
  const reason = thrown instanceof Error ? thrown.message : String(thrown);
  const moduleUrl = recipe.target.module;
  throw withCallerFrames(
    new ModuleLoadError(
      `The child process could not load ${recipe.label} from ${moduleUrl}: ${reason}\n` +
        `The child imports that module fresh, so it must be importable by its file URL, with the same ` +
        `loader flags (execArgv) the parent uses; its top-level code runs in the child.` +
        typeScriptHint(moduleUrl, thrown),
      moduleUrl,
      { cause: thrown },
    ),
  );
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

async function rebuildThrown(thrown: EncodedThrown, module: ModuleEntry): Promise<unknown> {
  const needsExports =
    thrown[0] === 'error' &&
    thrown[ThrownSlot.nodes].some((node) => node.exportName !== undefined && !resolveErrorClass(node));
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
