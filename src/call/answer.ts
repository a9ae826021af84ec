import { decodeThrown } from '../codec/thrown-decode.js';
import { asBuffer, decodeValue, ownView } from '../codec/values.js';
import { ModuleLoadError, RunInProcessError } from '../errors.js';
import { AnswerSlot, ThrownSlot, targetNotFoundCode, type Answer, type EncodedThrown } from '../protocol.js';
import { type ErrorClassOf, resolveErrorClass } from '../shared/error-classes.js';
import { importNamespace } from '../shared/import-namespace.js';
import { warnOnce } from '../shared/warn-once.js';
import { builtinClasses } from '../codec/thrown-shape.js';
import { fsReadHint } from '../shared/sandbox-hint.js';
import type { Transport } from '../pool/transport.js';
import { requiredModules } from '../node-flags.js';
import { processState } from '../shared/process-state.js';
import { requireCacheEntry } from '../shared/require-cache.js';
import type { ModuleEntry } from '../shared/registry.js';
import { joinStacks, withCallerFrames } from './call-stacks.js';
import { isEntryScript } from './entry-script.js';
import type { Recipe } from './recipe.js';
import { messageOf } from '../codec/describe-thrown.js';
import { clearTimeout, setTimeout } from '../shared/real-clock.js';

type Thrown = Extract<Answer, [tag: 'thrown', ...unknown[]]>;

/** Where a call ran, for messages: 'the child process', sandboxed or not, or this one in inline mode. */
export type CallPlace = Pick<Transport, 'runsIn' | 'sandboxed'>;

/** Where a call runs until its pool says otherwise. */
export const aChildProcess: CallPlace = { runsIn: 'the child process' };

/** An answer that is a value, as a local call would return it; synchronous, for the common case. */
export function returnedValue(answer: Exclude<Answer, Thrown>, root?: string): unknown {
  if (answer[0] === 'value') return decodeValue(answer[AnswerSlot.payload], root);
  const value = answer[AnswerSlot.payload];
  return answer[AnswerSlot.buffer] ? asBuffer(value) : ownView(value);
}

/** An answer that is a throw, rebuilt as a local call would have thrown it. */
export async function rethrow(answer: Thrown, recipe: Recipe, place: CallPlace): Promise<never> {
  const where = place.runsIn;
  const thrown = await rebuildThrown(answer[AnswerSlot.payload], recipe.module, where);
  if (answer[AnswerSlot.stage] !== 'load') throw joinStacks(thrown, where);
  const reason = messageOf(thrown);
  const moduleUrl = recipe.target.module;
  // Imported, but the target is not in it: the message says why, and how it was imported does not matter.
  const hint =
    (thrown as { code?: unknown } | null)?.code === targetNotFoundCode
      ? ''
      : fsReadHint(thrown) ||
        (place.sandboxed
          ? `It imports that module by its file URL, under the pool's permissions, with the pool's own flags ` +
            `(execArgv), not the parent's; its top-level code runs there.`
          : `It imports that module by its file URL, so the module must be importable that way, with the same ` +
            `loader flags (execArgv) the parent uses; its top-level code runs there.`) +
          typeScriptHint(moduleUrl, thrown, place.sandboxed);
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
function typeScriptHint(moduleUrl: string, thrown: unknown, sandboxed = false): string {
  const code = (thrown as { code?: unknown } | null)?.code;
  if (!/\.[cm]?tsx?$/.test(moduleUrl)) return '';
  if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' && !(thrown instanceof SyntaxError)) return '';
  // A loader such as tsx probes and reads files outside what a sandbox grants, and a sandboxed pool
  // does not inherit the parent's flags: its modules must be JavaScript.
  if (sandboxed)
    return (
      `\nA sandboxed child cannot load TypeScript: loaders (tsx) do not run under the permission model. Compile ` +
      `the module to JavaScript (tsc), and have the pool's calls come from the compiled module.`
    );
  // A require hook (node -r @swc-node/register app.ts) compiles what require() loads: the child
  // imports the module with import(), which on Node 20 and 22 it does not reach.
  const hooks = requiredModules();
  if (hooks.length > 0)
    return (
      `\nThe parent loads TypeScript through a require hook (--require ${hooks.join(', --require ')}), which ` +
      `compiles what require() loads; the child imports the module with import(), which the hook does not reach. Give ` +
      `the children the hook's import form: configure({ execArgv: [...process.execArgv, '--import', 'tsx'] }) ` +
      `(for @swc-node/register: '--import', '@swc-node/register/esm-register'), or start the parent with it ` +
      `(node --import tsx app.ts).`
    );
  return (
    `\nThe child cannot load this TypeScript module by itself: start the parent with a loader that it passes on ` +
    `(node --import tsx app.ts), or give the pool one: configure({ execArgv: [...process.execArgv, '--import', 'tsx'] }).`
  );
}

async function rebuildThrown(thrown: EncodedThrown, module: ModuleEntry, where: string): Promise<unknown> {
  const needsExports =
    thrown[0] === 'error' &&
    thrown[ThrownSlot.nodes].some((node) => node.exportName !== undefined && !resolveErrorClass(node));
  const looked = needsExports ? await exportsOf(module) : undefined;
  const moduleExports = looked && 'namespace' in looked ? looked.namespace : undefined;
  try {
    return decodeThrown(thrown, (node) => {
      const found = resolveErrorClass(node, moduleExports);
      if (!found) {
        // Exported, as the child saw: this process could not look (why), or looked and did not find it.
        warnIfClassUnknown(
          node,
          module.url,
          node.exportName !== undefined && looked && 'unread' in looked ? looked.unread : undefined,
        );
      }
      return found;
    });
  } catch (error) {
    // The child's word is checked, not trusted: a report that cannot be read is not the user's error.
    return new RunInProcessError(
      `${capitalized(where)} threw an error whose report could not be read: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

/** Classes of Node's own that are no globals: errors of Node's APIs, not of the user's code. */
const nodeOwnClasses = new Set(['AssertionError', 'AbortError', 'SystemError']);

/**
 * Why this process did not read a declaring module's exports: it is the entry script; its code
 * never ran here (named by a `module` option); or importing it failed or did not settle (why).
 */
type Unread = { kind: 'entry script' } | { kind: 'not run here' } | { kind: 'import failed'; why: string };

/**
 * An error of a class of the user's that this process cannot find comes back as its nearest
 * built-in class, its name, message and fields kept: `instanceof` and `catch` branches on that
 * class then fail silently. Most often the class lives in a module of its own (errors.ts), which
 * the declaring module imports but does not export; or this process could not import the module to
 * look (`unread`: why), as under vitest without its plugin. Said once for each class and declaring
 * module.
 */
function warnIfClassUnknown(node: ErrorClassOf, moduleUrl: string, unread: Unread | undefined): void {
  const name = node.className;
  // Only the error thrown itself, which a catch branch tests: a cause may be of a library's
  // internal class (fetch's TypeError has an undici SocketError for cause) that no one can export.
  if (!node.thrown || node.library || builtinClasses.has(name) || nodeOwnClasses.has(name)) return;
  const fix =
    unread?.kind === 'entry script'
      ? `${moduleUrl} is the entry script, whose exports are not looked up (importing it again might run it ` +
        `again): for instanceof ${name} to hold, call registerError(${name}) in this process, or move the class ` +
        `and the code that throws it into a module of their own.`
      : unread?.kind === 'not run here'
        ? `${moduleUrl} was named by a \`module\` option, and its code has not run in this process, which does not ` +
          `import it to look for ${name} (that would run its code here). For instanceof ${name} to hold, call ` +
          `registerError(${name}) in this process, with the class from a module that is safe to load here.`
        : unread?.kind === 'import failed'
          ? `this process could not import ${moduleUrl} to look for ${name} among its exports (${unread.why}). ` +
            (process.env['VITEST']
              ? `Under vitest, add the run-in-process/vitest plugin to vitest's config (see the README's vitest section), or call registerError(${name}) in the test.`
              : `For instanceof ${name} to hold, call registerError(${name}) in this process.`)
          : `this process cannot find ${name}, which ${moduleUrl} does not export. For instanceof ${name} to hold, ` +
            `export it from that module (export { ${name} }; export { ${name} } from the module that declares it, ` +
            `if another one does; in CommonJS, exports.${name} = ${name}), or call registerError(${name}) in this process.`;
  warnOnce(
    'RUN_IN_PROCESS_UNKNOWN_ERROR_CLASS',
    `${moduleUrl}\0${name}`,
    () =>
      `An error of class ${name} thrown in a child came back as the nearest built-in class it extends, with its ` +
      `name, message and fields: ${fix}`,
  );
}

/**
 * The declaring module's exports in this process, to find an exported error class: as another
 * module runner loaded it (vitest), or else by importing it again; or why they were not read.
 * Only a module whose own code ran here is imported: then it is loaded already; but if it is still
 * evaluating (a top-level await on this very call), importing it would wait for ever, so the entry
 * script is skipped and the wait is bounded.
 */
async function exportsOf(module: ModuleEntry): Promise<{ namespace: object } | { unread: Unread }> {
  const registered = processState.namespaces.get(module.url);
  if (registered) return { namespace: registered };
  // Loaded by require() (the entry script too, and a module a require hook compiled, as with
  // node -r @swc-node/register, which import() of the file would fail to load): its exports are
  // those require() gave, read without running anything again.
  const required: unknown = requireCacheEntry(module.url)?.exports;
  if ((typeof required === 'object' || typeof required === 'function') && required !== null)
    return { namespace: required };
  if (isEntryScript(module)) return { unread: { kind: 'entry script' } };
  // Named only by a `module` option: its code is for children alone (a sandboxed plugin, a native
  // library), and importing it would run that code here, with this process's rights.
  if (!module.ranHere) return { unread: { kind: 'not run here' } };
  // Not unref'd: a module whose top-level code awaits this call holds nothing else, and the process
  // would end there, its top-level await unsettled (exit code 13).
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(
      resolve,
      500,
      'its import had not settled after 500 ms: its top-level code may await this very call',
    );
  });
  const imported = importNamespace(module.url).catch((error: unknown) => messageOf(error));
  const outcome = await Promise.race([imported, timeout]).finally(() => clearTimeout(timer));
  return typeof outcome === 'string' ? { unread: { kind: 'import failed', why: outcome } } : { namespace: outcome.ns };
}
