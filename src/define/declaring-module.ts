import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { usageError } from '../errors.js';
import { declaredHere } from '../shared/registry.js';
import { isLibraryFrame } from '../shared/stack-frames.js';

/**
 * Which module declares the decorated method or wrapped function. Read from the call stack at
 * the moment the decorator is applied: the first frame that is not this library, Node itself, or
 * a decorator helper (tslib, reflect-metadata, swc/babel helpers) is the declaring module.
 */

const testFilePattern = /\.(test|spec)\.[cm]?[jt]sx?$/;
/**
 * What Node calls code given with -e, --eval, on stdin, or to a Worker with `eval: true`: no file a
 * child could import.
 */
const evalName = /[\\/]\[((worker )?eval\d*|stdin)\]$/;

/**
 * The declaring module's `file:` URL, query and hash kept (they name the module instance). A
 * module whose own code declared the target is marked as run in this process (ModuleEntry.ranHere):
 * one named only by a `module` option (a stub for a plugin that only sandboxed children may load, or
 * for a native library kept out of the parent) never is, and this process never imports it.
 */
export function declaringModule(explicit: string | URL | undefined, what: string): string {
  return declaration(explicit, what).url;
}

/**
 * The declaring module's URL, as `declaringModule()` finds it, and whether the target is a stub: named
 * by a `module` option in code of another module, it stands for the module's own wrap, which runs
 * wherever that module is imported (a sandboxed child), never for the code given here.
 */
export function declaration(explicit: string | URL | undefined, what: string): { url: string; stub: boolean } {
  if (explicit !== undefined) {
    const url = existing(fromUrl(String(explicit), what, 'the `module` option'), what);
    // Given by the module itself (module: import.meta.url), or by a helper that it called: either way
    // it is on the stack, running here. Code that never ran here cannot be on this process's stack.
    const stub = !onStack(url);
    if (!stub) declaredHere(url);
    return { url, stub };
  }
  const url = fromStack(firstForeignFrame(), what);
  declaredHere(url);
  return { url, stub: false };
}

/** Whether a frame of the current stack runs code of the module `url` names. */
function onStack(url: string): boolean {
  for (const file of stackFiles()) {
    if (!file.startsWith('file:') && !isAbsolute(file)) continue;
    try {
      if (fromUrl(file.startsWith('file:') ? file : urlOfPath(file), 'a frame', 'the call stack') === url) return true;
    } catch {
      // A test file, say: not the module named.
    }
  }
  return false;
}

function fromStack(file: string | undefined, what: string): string {
  // `node --input-type=module -e` names its code file:///<cwd>/[eval1], as if it were a file.
  if (file !== undefined && evalName.test(file)) throw noFile(what, 'given to node -e (--eval, or stdin)');
  if (file === evalFrame) throw noFile(what, 'run by eval() or new Function()');
  if (file === vmFrame)
    throw noFile(what, 'run by the vm module (vm.runInThisContext(), a vm.Script) with no file name');
  if (file?.startsWith('data:')) throw noFile(what, 'imported from a data: URL');
  const scheme = file === undefined ? undefined : otherScheme(file);
  if (scheme !== undefined) throw noFile(what, `imported from a ${scheme} URL (${file}, a loader hook's)`);
  if (file === undefined) {
    throw usageError(
      `Cannot tell which module declares ${what}: no file appears on the call stack (a bundler's runtime, ` +
        `eval, the REPL?). A child process imports that module to find the code, so pass it ` +
        `explicitly: { module: import.meta.url } (in CommonJS, { module: __filename }). Code typed into the ` +
        `REPL or given to node -e has no file to name: put it in a module file, and import that.`,
    );
  }
  return fromUrl(file.startsWith('file:') ? file : urlOfPath(file), what, 'the call stack');
}

/**
 * A `module` option given by hand names a file that must be there: a typo or a path taken as a URL
 * ('plugins/a.js' where a URL was meant) would otherwise fail only at the first call, in a child.
 */
function existing(url: string, what: string): string {
  const path = fileURLToPath(url.split('?')[0]!);
  if (evalName.test(path)) throw noFile(what, 'given to node -e (--eval, or stdin)');
  if (!existsSync(path)) {
    throw usageError(
      `Cannot run ${what} in a child process: its \`module\` option names ${path}, which does not exist. ` +
        `Pass the declaring module's URL (import.meta.url), or the path of its file (relative to the working directory).`,
    );
  }
  return url;
}

function noFile(what: string, where: string): Error {
  return usageError(
    `Cannot run ${what} in a child process: it is declared in code ${where}, which has no file that a ` +
      `child could import to find it. Put it in a module file, and import that file.`,
  );
}

/**
 * A module runner (vitest) names a module by its path, and keeps the query it was imported with. A
 * CommonJS module's path is the file's own, which may have a `?` in it (a folder named `app?2`).
 */
function urlOfPath(file: string): string {
  const query = file.indexOf('?');
  if (query < 0 || existsSync(file)) return pathToFileURL(file).href;
  return pathToFileURL(file.slice(0, query)).href + file.slice(query);
}

function fromUrl(raw: string, what: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    url = pathToFileURL(raw);
  }
  if (url.protocol !== 'file:') {
    throw usageError(
      `Cannot run ${what} in a child process: its module, found through ${source}, is "${raw}", ` +
        `which a child process cannot import. Declare it in a module file and pass { module: import.meta.url }.`,
    );
  }
  if (testFilePattern.test(url.pathname)) {
    throw usageError(
      `Cannot run ${what} in a child process: it is declared in a test file (${url.pathname}). The child ` +
        `imports the declaring module, and importing a test file there would run its tests. Move the ` +
        `class or function into its own module, and import it from the test.`,
    );
  }
  // The query stays: a plugin imported again as `plugin.js?v=2` is a new module instance here, and
  // the child must import that same instance, new code and all, not the one it loaded first.
  // So does the hash: Node takes `m.js#v2` for a module instance of its own, as it takes `m.js?v=2`.
  return url.href;
}

/** What firstForeignFrame() says of code that eval() or new Function() ran. */
const evalFrame = '<eval>';
const vmFrame = '<vm>';

function firstForeignFrame(): string | undefined {
  for (const site of callSites()) {
    const file = site.getFileName() ?? site.getScriptNameOrSourceURL();
    // Code that eval() or new Function() ran (with no source URL), and a data: module, have no file
    // a child could import: the file below them on the stack, which ran them, does not declare it.
    if (!file) {
      if (site.isEval()) return evalFrame;
      continue;
    }
    // A data: module, or one a loader hook serves under a scheme of its own: refused (fromStack).
    if (otherScheme(file) !== undefined) return file;
    // vm.runInThisContext(), new vm.Script() and the like, given no file name.
    if (file.startsWith('evalmachine.')) return vmFrame;
    if (!isSkipped(file)) return file;
  }
  return undefined;
}

/** The files of the current stack's frames, innermost first. */
function stackFiles(): string[] {
  return callSites().flatMap((site) => site.getFileName() ?? site.getScriptNameOrSourceURL() ?? []);
}

/** The current stack's frames (64 at most), innermost first. */
function callSites(): NodeJS.CallSite[] {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  try {
    Error.stackTraceLimit = 64;
    Error.prepareStackTrace = (_error, sites) => sites;
    Error.captureStackTrace(holder, callSites);
    return holder.stack ?? [];
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
}

/**
 * The scheme of a module URL that is neither a file nor Node's own (`virtual:plugins/a.js`, served
 * by a loader hook; `https:`): a child could not import it, and skipped as a helper's, the frame
 * below it (the entry script that imported it, say) was taken for the declaring module.
 */
function otherScheme(file: string): string | undefined {
  const scheme = /^[a-z][a-z\d+.-]*:/i.exec(file)?.[0];
  if (scheme === undefined || scheme === 'file:' || scheme === 'node:' || isAbsolute(file)) return undefined;
  return scheme;
}

function isSkipped(file: string): boolean {
  // Only a real file can be imported again. Anything else on the stack is a helper: Node's own
  // code, or a bundler's virtual module such as Vite's '\0@oxc-project+runtime/…/decorate.js'.
  if (!file.startsWith('file:') && !isAbsolute(file)) return true;
  return isLibraryFrame(file.startsWith('file:') ? safePath(file) : file);
}

function safePath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch {
    return url;
  }
}
