import { createRequire } from 'node:module';
import type {} from 'reflect-metadata';
import { RunInProcessError } from '../errors.js';
import type { RunInProcessOptions } from '../options.js';

// Required, not imported: imported from ES modules, a CommonJS module is first scanned for its export
// names (cjs-module-lexer over reflect-metadata's 64 KB), which took 6-10 ms of every process's
// start here, children's included, against ~2 ms for require() (bench/analysis.md, fifth pass).
try {
  createRequire(import.meta.url)('reflect-metadata');
} catch (error) {
  // Node's --frozen-intrinsics froze Reflect: reflect-metadata's own TypeError (printed as a bare `{}`
  // on Node 20) said nothing of the flag. The library cannot go without it, nor without setting
  // Error.prepareStackTrace, by which it finds the module that declares offloaded code.
  if (Object.isExtensible(Reflect)) throw error;
  throw new RunInProcessError(
    'run-in-process cannot run under --frozen-intrinsics: it keeps class options with reflect-metadata, which ' +
      "adds functions to the global Reflect, and finds each offloaded function's module through " +
      'Error.prepareStackTrace; the flag freezes both. Run this app without --frozen-intrinsics (in its flags or NODE_OPTIONS).',
    { cause: error },
  );
}

/**
 * Class-level decorator data, kept with reflect-metadata on the constructor. A class's defaults are
 * those of its ancestors, each overridden by what a class nearer to it sets (classDefaults).
 */
const defaultsKey = 'run-in-process:defaults';
const methodsKey = 'run-in-process:methods';

export function setClassDefaults(ctor: Function, options: RunInProcessOptions): void {
  Reflect.defineMetadata(defaultsKey, options, ctor);
  // Its subclasses' defaults include its own: all are read again.
  defaultsByClass = new WeakMap();
}

/** Read on every call; a class's decorators have all run before its first call, so this is cached. */
let defaultsByClass = new WeakMap<Function, RunInProcessOptions>();
const none: RunInProcessOptions = Object.freeze({});

/**
 * The defaults of calls on a class: its ancestors' options, each overridden key by key by the
 * options of a class nearer to it, its own last. Merged, not the nearest class's alone: a subclass
 * marked `@runInProcess()` (as the warning for an unmarked one advises) with no options, or with a
 * `priority` only, still runs in its base class's `pool`, a sandbox say, with its `timeout`.
 */
export function classDefaults(ctor: Function | undefined): RunInProcessOptions {
  if (!ctor) return none;
  const known = defaultsByClass.get(ctor);
  if (known) return known;
  const chain: RunInProcessOptions[] = [];
  for (const at of lineageOf(ctor)) {
    const own = Reflect.getOwnMetadata(defaultsKey, at) as RunInProcessOptions | undefined;
    if (own) chain.unshift(own);
  }
  const defaults: RunInProcessOptions =
    chain.length <= 1 ? (chain[0] ?? none) : Object.freeze(Object.assign({}, ...chain));
  defaultsByClass.set(ctor, defaults);
  return defaults;
}

/**
 * The class itself, then each class it extends, nearest first. Seen classes end the walk: ES5-style
 * `constructor` links can go round (A's leads to B, B's to A), where reflect-metadata's own walk
 * would never return.
 */
export function* lineageOf(ctor: Function): Generator<Function> {
  const seen = new Set<Function>();
  for (let at: Function | undefined = ctor; at && !seen.has(at); at = parentClassOf(at)) {
    seen.add(at);
    yield at;
  }
}

/**
 * The class a class extends, as reflect-metadata's `getMetadata` walks it (OrdinaryGetPrototypeOf):
 * the constructor's prototype, or for an ES5-style subclass (whose constructor's prototype is
 * Function.prototype) the constructor of its prototype object's prototype.
 */
function parentClassOf(ctor: Function): Function | undefined {
  const proto = Object.getPrototypeOf(ctor) as unknown;
  if (proto !== Function.prototype) return typeof proto === 'function' ? proto : undefined;
  const prototypeProto = (ctor.prototype as object | undefined) && Object.getPrototypeOf(ctor.prototype);
  if (prototypeProto == null || prototypeProto === Object.prototype) return undefined;
  const parent = (prototypeProto as { constructor?: unknown }).constructor;
  return typeof parent === 'function' && parent !== ctor ? parent : undefined;
}

/**
 * The options a class's own decorator gave, not inherited: a class `id` names that class's methods
 * for remote workers, and a subclass that inherited it would name its own methods alike.
 */
export function ownClassDefaults(ctor: Function): RunInProcessOptions {
  return (Reflect.getOwnMetadata(defaultsKey, ctor) as RunInProcessOptions | undefined) ?? none;
}

/** The class's own offloaded methods (not its ancestors'), as addOffloadedMethod recorded them. */
export function offloadedMethodsOf(ctor: Function): readonly string[] {
  return (Reflect.getOwnMetadata(methodsKey, ctor) as string[] | undefined) ?? [];
}

/** Records a method as offloaded: `Reflect.getOwnMetadata('run-in-process:methods', Class)` lists them. */
export function addOffloadedMethod(ctor: Function, key: string): void {
  const own = (Reflect.getOwnMetadata(methodsKey, ctor) as string[] | undefined) ?? [];
  if (!own.includes(key)) Reflect.defineMetadata(methodsKey, [...own, key], ctor);
}
