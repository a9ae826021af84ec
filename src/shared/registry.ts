import { usageError } from '../errors.js';
import { defaultPoolName, type RunInProcessOptions } from '../options.js';
import type { FunctionTarget, MethodTarget, Target } from '../protocol.js';
import { processState } from './process-state.js';
import { requireCacheEntry } from './require-cache.js';
import { declaringModuleHint } from './declaring-module-hint.js';

/**
 * What the decorators and the wrapper register, per declaring module: the real implementations
 * the child runs, and how to name them in a recipe.
 *
 * A class is named by its position among the classes its module registers. Decorators run in the
 * same order each time a module is evaluated, so the child, importing the module fresh, rebuilds
 * the same positions; that is how a class that is never exported can still be found.
 *
 * The registry is process-wide state (process-state.ts): two copies of this library in one process
 * register into and look up the same place.
 */

export interface ModuleEntry {
  /**
   * The module's `file:` URL as captured, query and hash kept: two loads of one file under `?v=1`
   * and `?v=2` (or `#v1` and `#v2`) are two modules, here and in a child, which imports this same URL.
   */
  readonly url: string;
  readonly classes: ClassEntry[];
  readonly classesByIdentity: Map<object, ClassEntry>;
  readonly functions: Map<string, FunctionEntry>;
  /**
   * Its own code ran in this process (it declared a target here, define/declaring-module.ts): only
   * then may this process import it, to look up its exports. Absent in an entry a copy of the
   * library older than this field made: taken as false.
   */
  ranHere?: boolean;
  /**
   * The evaluation of the library whose code declared the module's targets (declaredHere). Absent in
   * an entry a copy older than this field made.
   */
  declaredBy?: { readonly evaluation: object; readonly library: string; readonly instance?: object };
}

export interface ClassEntry {
  readonly module: ModuleEntry;
  readonly index: number;
  /**
   * What identifies the class while it is being defined: the constructor under legacy decorators;
   * the `context.metadata` object under standard ones, which see no constructor for instance methods.
   */
  readonly identity: object;
  /** The constructor, once known. */
  ctor: Function | undefined;
  readonly methods: Map<string, MethodEntry>;
}

export interface MethodEntry {
  readonly owner: ClassEntry;
  readonly name: string;
  readonly isStatic: boolean;
  readonly impl: Function;
  readonly options: RunInProcessOptions;
  /** An `async *` method: a call returns an async generator whose items the child yields. */
  readonly streams: boolean;
}

export interface FunctionEntry {
  readonly module: ModuleEntry;
  readonly id: string;
  readonly impl: Function;
  readonly options: RunInProcessOptions;
  /** An `async function*`: a call returns an async generator whose items the child yields. */
  readonly streams: boolean;
  /** Wrapped in another module's code, which named this one by a `module` option: `impl` never runs. */
  readonly stub: boolean;
}

/** An `async function*` or `async *` method, as written or as TypeScript lowers it. */
export function isAsyncGeneratorFunction(fn: Function): boolean {
  const kind = Object.prototype.toString.call(fn);
  if (kind === '[object AsyncGeneratorFunction]') return true;
  // TypeScript, for a target below ES2018, compiles an `async *` method or function into a plain one
  // whose whole body makes the generator: `{ return __asyncGenerator(this, arguments, function* …`
  // (`tslib_1.__asyncGenerator` with importHelpers; comments before it kept). It streams as the original would.
  return kind === '[object Function]' && downleveledAsyncGenerator.test(Function.prototype.toString.call(fn));
}

const downleveledAsyncGenerator =
  /^[^{]*\{(?:\s|\/\/[^\n]*\n|\/\*[\s\S]*?\*\/)*return\s+(?:\(0,\s*)?(?:[\w$]+\.)?__asyncGenerator\)?\(this,\s*arguments,\s*function\s*\*/;

export interface Registry {
  readonly modules: Map<string, ModuleEntry>;
  readonly classesByCtor: WeakMap<Function, ClassEntry>;
  readonly classesByIdentity: WeakMap<object, ClassEntry>;
}

function registry(): Registry {
  return processState.registry;
}

export function moduleEntry(url: string): ModuleEntry {
  const { modules } = registry();
  let entry = modules.get(url);
  if (!entry) {
    entry = { url, classes: [], classesByIdentity: new Map(), functions: new Map() };
    modules.set(url, entry);
  }
  return entry;
}

/**
 * Who declares here: this evaluation of the library's code, and the file it is in. jest's module
 * reset evaluates the same file again; another copy of the library (a package's own) is another
 * file, whose declarations for one module (one that imports both copies) stand beside this one's.
 */
const declarer = { evaluation: {}, library: import.meta.url.replace(/[?#].*$/, '') };

/**
 * The entry of a module whose own code declares a target here, now. A module whose targets an
 * earlier evaluation of this same library file declared is being evaluated again, the library
 * beside it: a test runner's module reset (`jest.resetModules()`, which evaluates node_modules
 * again too). Its first evaluation's targets are forgotten, as the vitest plugin forgets them: each
 * of its wrapped functions was "wrapped a second time", the library's own warm-up ping among them,
 * and its classes found twice.
 */
export function declaredHere(url: string): ModuleEntry {
  const earlier = registry().modules.get(url)?.declaredBy;
  // A CommonJS module's object in require's cache is a new one each time the file is evaluated anew,
  // by a hot reloader that takes it out of the cache (decache, import-fresh, `delete require.cache[…]`),
  // with the library left as it was. That is a module loaded again, whose targets are declared afresh,
  // not one that wraps a function twice (a wrap inside a function that runs twice, which stays refused).
  const instance = requireCacheEntry(url);
  const libraryAgain = earlier && earlier.evaluation !== declarer.evaluation && earlier.library === declarer.library;
  const moduleAgain = earlier?.instance !== undefined && instance !== undefined && earlier.instance !== instance;
  if (libraryAgain || moduleAgain) registry().modules.delete(url);
  const entry = moduleEntry(url);
  entry.declaredBy = instance === undefined ? declarer : { ...declarer, instance };
  entry.ranHere = true;
  return entry;
}

export function findModule(url: string): ModuleEntry | undefined {
  return registry().modules.get(url);
}

export function classEntry(module: ModuleEntry, identity: object): ClassEntry {
  let entry = module.classesByIdentity.get(identity);
  if (!entry) {
    entry = { module, index: module.classes.length, identity, ctor: undefined, methods: new Map() };
    module.classes.push(entry);
    module.classesByIdentity.set(identity, entry);
    registry().classesByIdentity.set(identity, entry);
    if (typeof identity === 'function') learnConstructor(entry, identity);
  }
  return entry;
}

export function learnConstructor(entry: ClassEntry, ctor: Function): void {
  entry.ctor = ctor;
  registry().classesByCtor.set(ctor, entry);
}

/**
 * The entry of a constructor. Under standard decorators a class is first known by its metadata
 * object, which the finished class carries as its own `Symbol.metadata`; that links the two.
 */
export function classOfConstructor(ctor: Function): ClassEntry | undefined {
  const { classesByCtor, classesByIdentity } = registry();
  const known = classesByCtor.get(ctor);
  if (known || !Object.hasOwn(ctor, Symbol.metadata)) return known;
  const metadata = (ctor as { [Symbol.metadata]?: unknown })[Symbol.metadata];
  const entry = typeof metadata === 'object' && metadata !== null ? classesByIdentity.get(metadata) : undefined;
  if (entry) learnConstructor(entry, ctor);
  return entry;
}

export function methodKey(name: string, isStatic: boolean): string {
  return isStatic ? `static ${name}` : name;
}

export function addMethod(entry: MethodEntry): void {
  const key = methodKey(entry.name, entry.isStatic);
  if (entry.owner.methods.has(key)) {
    throw usageError(
      `@runInProcess is applied twice to ${key} in ${entry.owner.module.url}. Apply it once per method.`,
    );
  }
  entry.owner.methods.set(key, entry);
}

/** The function that took each decorated method's place on its class's prototype (decorate.ts). */
const replacements = new WeakMap<MethodEntry, Function>();

export function setReplacement(method: MethodEntry, replacement: Function): void {
  replacements.set(method, replacement);
}

/** Whether the method, as decorated, is an own property of an object on `self`'s prototype chain. */
export function inheritsMethod(self: object, method: MethodEntry): boolean {
  const replacement = replacements.get(method);
  for (let proto = Object.getPrototypeOf(self); proto !== null; proto = Object.getPrototypeOf(proto)) {
    if (Object.getOwnPropertyDescriptor(proto, method.name)?.value === replacement) return true;
  }
  return false;
}

export function addFunction(entry: FunctionEntry): void {
  const { functions, url } = entry.module;
  const earlier = functions.get(entry.id);
  if (earlier && (earlier.stub || entry.stub)) {
    // A stub stands for the module's own wrap: stubs of one target for other pools are one, and the
    // module's own wrap takes a stub's place, as in a child that imported the stub's module (which
    // declares targets of its own) before the module it names. Two for one pool are a slip (a stub
    // made in a function, or one module named for two plugins), refused as two wraps are.
    if (entry.stub && !stubbedFor(entry)) {
      throw usageError(
        `runInProcess(): a stub of "${entry.id}" in ${url} was declared a second time for the pool ` +
          `"${entry.options.pool ?? defaultPoolName}". Declare each stub once, at the top level of a module, and use what ` +
          `runInProcess() returns (stubs of one function may differ in their pool); if it was meant for another ` +
          `module, check its \`module\` option.`,
      );
    }
    if (earlier.stub && !entry.stub) functions.set(entry.id, entry);
    return;
  }
  if (earlier) {
    // The same code wrapped again: runInProcess() ran in a function, a constructor or a class field,
    // which the child never runs as it imports the module (it would not find the function either).
    if (earlier.impl === entry.impl) {
      throw usageError(
        `runInProcess(): the function "${entry.id}" in ${url} was wrapped a second time. If runInProcess(fn) runs in ` +
          `a function, a constructor or a class field, wrap it once, at the top level of its module instead ` +
          `(export const ${entry.id} = runInProcess(…)): a child only imports the module, and finds only what its ` +
          `import wraps. If both wraps are at the top level, wrap it once and use what that returns, or give the ` +
          `second a name of its own: { name: '…' }. ${declaringModuleHint(url)}`,
      );
    }
    if (sourceOf(earlier.impl) === sourceOf(entry.impl)) {
      // Also two closures made by one function, which share its name: Node's zlib gzipSync and
      // gunzipSync are both "syncBufferWrapper".
      throw usageError(
        `runInProcess(): "${entry.id}" in ${url} was wrapped a second time, as another function of the same name ` +
          `and code. If these are two functions made by one factory (Node's zlib gzipSync and gunzipSync are both ` +
          `named syncBufferWrapper), give each a name of its own: runInProcess(fn, { name: '…' }). If runInProcess(fn) ` +
          `runs in a function, a constructor or a class field, wrap it once, at the top level of its module instead ` +
          `(export const ${entry.id} = runInProcess(…)): a child only imports the module, and finds only what its ` +
          `import wraps. ${declaringModuleHint(url)}`,
      );
    }
    throw usageError(
      `runInProcess(): two functions in ${url} are registered as "${entry.id}". ` +
        `Each wrapped function needs an id unique within its module: give one of them { name: '…' }. ` +
        declaringModuleHint(url),
    );
  }
  if (entry.stub) stubbedFor(entry);
  functions.set(entry.id, entry);
}

/** Undoes addFunction(): a wrap refused after it was registered, so that a fixed one may follow. */
export function removeFunction(entry: FunctionEntry): void {
  if (entry.module.functions.get(entry.id) === entry) entry.module.functions.delete(entry.id);
  if (entry.stub)
    stubPools
      .get(entry.module)
      ?.get(entry.id)
      ?.delete(entry.options.pool ?? defaultPoolName);
}

/** The pools each stubbed function has a stub for, by module. */
const stubPools = new WeakMap<ModuleEntry, Map<string, Set<string>>>();

/** Notes a stub's pool; false when that function had a stub for it already. */
function stubbedFor(entry: FunctionEntry): boolean {
  let byId = stubPools.get(entry.module);
  if (!byId) stubPools.set(entry.module, (byId = new Map()));
  let pools = byId.get(entry.id);
  if (!pools) byId.set(entry.id, (pools = new Set()));
  const pool = entry.options.pool ?? defaultPoolName;
  if (pools.has(pool)) return false;
  pools.add(pool);
  return true;
}

function sourceOf(fn: Function): string | undefined {
  try {
    return Function.prototype.toString.call(fn);
  } catch {
    return undefined;
  }
}

/** A display name for messages: `Hasher.digest`, `Hasher.version` (static), `parseUntrusted`. */
export function describeMethod(method: MethodEntry, calledOn?: Function): string {
  // Under standard decorators an instance method's class is known from its first call on: before
  // it, the class the call was made on names it.
  return `${method.owner.ctor?.name ?? (calledOn?.name || 'class')}.${method.name}`;
}

/**
 * How a call names a method for another process (protocol.ts): the call path's recipes and a
 * remote worker's allow-list both build it here. `instanceClass`: the registered subclass to
 * rebuild `this` as, when it is not the declaring class.
 */
export function targetOfMethod(method: MethodEntry, instanceClass?: ClassEntry): MethodTarget {
  const declaring = method.owner;
  return {
    kind: 'method',
    module: declaring.module.url,
    classIndex: declaring.index,
    className: declaring.ctor?.name ?? '',
    method: method.name,
    isStatic: method.isStatic,
    ...(instanceClass && {
      instanceClass: {
        module: instanceClass.module.url,
        classIndex: instanceClass.index,
        className: instanceClass.ctor?.name ?? '',
      },
    }),
  };
}

export function targetOfFunction(fn: FunctionEntry): FunctionTarget {
  return { kind: 'function', module: fn.module.url, id: fn.id };
}

/** What a module registered: its classes' methods, class by class, then its wrapped functions. */
export function* entriesIn(module: ModuleEntry): Generator<MethodEntry | FunctionEntry> {
  for (const owner of module.classes) yield* owner.methods.values();
  yield* module.functions.values();
}

/** The target of either kind of entry, `this` rebuilt as the declaring class. */
export function targetOf(entry: MethodEntry | FunctionEntry): Target {
  return 'owner' in entry ? targetOfMethod(entry) : targetOfFunction(entry);
}
