import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * `run-in-process/vitest`: a Vite plugin for running run-in-process under vitest.
 *
 * ```ts
 * // vitest.config.ts
 * import { defineConfig } from 'vitest/config';
 * import { runInProcess } from 'run-in-process/vitest';
 *
 * export default defineConfig({ plugins: [runInProcess()] });
 * ```
 *
 * It does two things to the modules vitest loads:
 *
 * - **Error classes keep their identity.** vitest loads a module through Vite's module runner, not
 *   through Node, so a native `import()` of that module's file would load a second instance, with
 *   classes of its own (and run the module's top-level code again). A module that imports
 *   `run-in-process` (test files excepted) therefore registers its own namespace, under its own
 *   `import.meta.url`, in the library's process-wide state; the parent finds the error classes the
 *   module exports there.
 * - **Standard decorators run.** Vite 8 compiles TypeScript with Oxc, which lowers only legacy
 *   decorators (`experimentalDecorators`); standard ones reach Node as they are, a SyntaxError.
 *   The plugin lowers what remains with esbuild (≥ 0.21), which must be installed.
 *
 * It runs in Vite's process: it imports nothing of the library.
 */

/** The plugin, as Vite sees it (a structural subset of Vite's `Plugin`, so that no types of Vite are needed). */
export interface RunInProcessVitePlugin {
  name: 'run-in-process';
  enforce: 'post';
  configResolved(config: { root: string }): void;
  transform(this: TransformContext, code: string, id: string): Promise<{ code: string; map: string | null } | null>;
}

interface TransformContext {
  /** The plugin context's parser (Vite's `parseAst`): ESTree. */
  parse?(code: string): unknown;
}

interface Esbuild {
  version: string;
  transform(
    code: string,
    options: Record<string, unknown>,
  ): Promise<{ code: string; map: string; warnings: { text: string }[] }>;
}

/**
 * The key of the library's process-wide state (src/shared/process-state.ts); the two must change
 * together. The state exists once the library is imported: a module that imports it statically is
 * evaluated after it.
 */
const stateKey = 'run-in-process.state.v3';

const selfName = '__runInProcessSelf';
const scriptFile = /\.[cm]?[jt]sx?$/;
/** As the library refuses them (src/define/declaring-module.ts): a child would import the test file. */
const testFile = /\.(test|spec)\.[cm]?[jt]sx?$/;
/** A static import (`import … from` or `import '…'`): an ES module, which the import appended below suits. */
const importsLibrary = /\b(?:from|import)\s*(["'])run-in-process\1/;
/**
 * An import or export statement: an ES module. The app's own modules are all registered, not only
 * those that import the library by its name: one may get `runInProcess` through another module of
 * the app (a file that re-exports it), and a module left out is loaded again by Node to find its
 * error classes (a second instance, whose classes fail `toBeInstanceOf`), or not at all (a .ts one).
 */
const esModuleSyntax = /^[ \t]*(?:import[\s{*"']|export[\s{*])/m;
/** `@` then what may start a decorator: an identifier or `(`. A cheap first look, confirmed by parsing. */
const maybeDecorator = /@\s*[\p{ID_Start}$_(]/u;

export function runInProcess(): RunInProcessVitePlugin {
  let root = process.cwd();
  let esbuild: Promise<Esbuild | undefined> | undefined;

  return {
    name: 'run-in-process',
    // After Vite's own transforms (Oxc): TypeScript is gone, type-only imports with it, and legacy
    // decorators are lowered already. Before the module runner's transform, which Vite applies last.
    enforce: 'post',

    configResolved(config) {
      root = config.root;
    },

    async transform(code, id) {
      if (id.startsWith('\0')) return null;
      const file = id.replace(/[?#].*$/, '');
      if (!scriptFile.test(file)) return null;
      let map: string | null = null;
      const appModule = !file.includes('/node_modules/');

      if (appModule && maybeDecorator.test(code) && hasDecorators(this, code)) {
        esbuild ??= loadEsbuild(root);
        const lowered = await lowerDecorators(await esbuild, code, file);
        code = lowered.code;
        map = lowered.map;
      }

      // Only under vitest (which sets VITEST): a vite.config.ts that holds vitest's settings also
      // builds the app for browsers with this plugin, where a module handed to a global would lose
      // tree-shaking, and no module imports the library.
      const registersAnyway = appModule && process.env['VITEST'] !== undefined && esModuleSyntax.test(code);
      if ((importsLibrary.test(code) || registersAnyway) && !testFile.test(file)) {
        // A circular import of the module itself gives its live namespace. Appended, so that no code
        // moves (the source map stays as it is); the import is hoisted, the registration runs once
        // the module's own code has.
        const state = `globalThis[Symbol.for(${JSON.stringify(stateKey)})]`;
        const key = JSON.stringify(moduleKey(id));
        // Evaluated again after vi.resetModules(): what its first evaluation registered is forgotten
        // before it registers again, or each of its wrapped functions would be "wrapped a second time"
        // and its classes found twice. On its first line, so that no line moves.
        const forget = `${state}?.registry?.modules?.delete(${key});`;
        if (!code.startsWith('#!')) code = `${forget}${code}`;
        else {
          // After the hashbang, at the start of the line below it: still no line moves.
          const lineEnd = code.indexOf('\n');
          if (lineEnd >= 0) code = `${code.slice(0, lineEnd + 1)}${forget}${code.slice(lineEnd + 1)}`;
        }
        code +=
          `\nimport * as ${selfName} from ${JSON.stringify(id)};\n` +
          `${state}?.namespaces?.set(${key}, ${selfName});\n`;
      } else if (map === null) {
        return null;
      }
      return { code, map };
    },
  };
}

/**
 * The URL under which the library records the module. vitest runs a module under its id (its path,
 * and the query it was imported with), and the library reads that from the call stack: the path
 * as a `file:` URL, the query and hash kept. (`import.meta.url` has no query there.)
 */
function moduleKey(id: string): string {
  const query = id.search(/[?#]/);
  return new URL(query === -1 ? pathToFileURL(id).href : pathToFileURL(id.slice(0, query)).href + id.slice(query)).href;
}

function hasDecorators(context: TransformContext, code: string): boolean {
  if (typeof context.parse !== 'function') return true;
  let ast: unknown;
  try {
    ast = context.parse(code);
  } catch {
    // Not parsable as it is: let Vite report it.
    return false;
  }
  return containsDecorator(ast);
}

function containsDecorator(node: unknown): boolean {
  const stack = [node];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current !== 'object' || current === null) continue;
    if (Array.isArray(current)) {
      stack.push(...current);
      continue;
    }
    const record = current as Record<string, unknown>;
    if (Array.isArray(record.decorators) && record.decorators.length > 0) return true;
    for (const key in record) if (key !== 'decorators') stack.push(record[key]);
  }
  return false;
}

async function lowerDecorators(
  esbuild: Esbuild | undefined,
  code: string,
  file: string,
): Promise<{ code: string; map: string }> {
  if (!esbuild) {
    throw new Error(
      `run-in-process/vitest: ${file} uses standard decorators, which Vite 8 leaves as they are and ` +
        `Node cannot run. Install esbuild (npm install --save-dev esbuild), which this plugin uses to ` +
        `compile them. Or use legacy decorators ("experimentalDecorators": true in tsconfig.json), ` +
        `which Vite compiles itself.`,
    );
  }
  const [major = 0, minor = 0] = esbuild.version.split('.').map(Number);
  if (major === 0 && minor < 21) {
    throw new Error(
      `run-in-process/vitest: ${file} uses standard decorators, and esbuild ${esbuild.version} cannot ` +
        `compile them: install esbuild 0.21 or later (npm install --save-dev esbuild@latest).`,
    );
  }
  // JavaScript decorators are standard decorators; no engine runs them yet, and `supported` says so
  // whatever esbuild's tables say. Everything else is left as it is, names included: lowering renames
  // a function expression that shares its name with a top-level binding (`const parse =
  // runInProcess(function parse …)` became `function parse2`), and a child, which imports the module
  // without this plugin, finds a wrapped function by its name.
  return esbuild.transform(code, {
    loader: 'js',
    target: 'esnext',
    supported: { decorators: false },
    keepNames: true,
    sourcemap: 'external',
    sourcefile: file,
  });
}

/** esbuild as this package resolves it (an optional peer), else as the project does. */
async function loadEsbuild(root: string): Promise<Esbuild | undefined> {
  const candidates: (() => string)[] = [
    () => 'esbuild',
    () => pathToFileURL(createRequire(join(root, 'package.json')).resolve('esbuild')).href,
  ];
  for (const candidate of candidates) {
    try {
      const loaded = (await import(candidate())) as Esbuild & { default?: Esbuild };
      return typeof loaded.transform === 'function' ? loaded : loaded.default;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    }
  }
  return undefined;
}
