import { createRequire } from 'node:module';
import type {} from 'reflect-metadata';
import type { RunInProcessOptions } from '../options.js';

// Required, not imported: imported from ES modules, a CommonJS module is first scanned for its export
// names (cjs-module-lexer over reflect-metadata's 64 KB), which took 6-10 ms of every process's
// start here, children's included, against ~2 ms for require() (bench/analysis.md, fifth pass).
createRequire(import.meta.url)('reflect-metadata');

/**
 * Class-level decorator data, kept with reflect-metadata on the constructor. `Reflect.getMetadata`
 * walks the constructor's prototype chain, which is what makes a class's defaults apply to its
 * subclasses unless they set their own.
 */
const defaultsKey = 'run-in-process:defaults';
const methodsKey = 'run-in-process:methods';

export function setClassDefaults(ctor: Function, options: RunInProcessOptions): void {
  Reflect.defineMetadata(defaultsKey, options, ctor);
  defaultsByClass.delete(ctor);
}

/** Read on every call; a class's decorators have all run before its first call, so this is cached. */
const defaultsByClass = new WeakMap<Function, RunInProcessOptions>();
const none: RunInProcessOptions = Object.freeze({});

export function classDefaults(ctor: Function | undefined): RunInProcessOptions {
  if (!ctor) return none;
  let defaults = defaultsByClass.get(ctor);
  if (!defaults) {
    defaults = (Reflect.getMetadata(defaultsKey, ctor) as RunInProcessOptions | undefined) ?? none;
    defaultsByClass.set(ctor, defaults);
  }
  return defaults;
}

/**
 * The options a class's own decorator gave, not inherited: a class `id` names that class's methods
 * for remote workers, and a subclass that inherited it would name its own methods alike.
 */
export function ownClassDefaults(ctor: Function): RunInProcessOptions {
  return (Reflect.getOwnMetadata(defaultsKey, ctor) as RunInProcessOptions | undefined) ?? none;
}

/** Records a method as offloaded: `Reflect.getOwnMetadata('run-in-process:methods', Class)` lists them. */
export function addOffloadedMethod(ctor: Function, key: string): void {
  const own = (Reflect.getOwnMetadata(methodsKey, ctor) as string[] | undefined) ?? [];
  if (!own.includes(key)) Reflect.defineMetadata(methodsKey, [...own, key], ctor);
}
