import { defaultPoolName } from '../options.js';
import type { Target } from '../protocol.js';
import { classDefaults, ownClassDefaults } from './class-options.js';
import { moduleIdentity } from './module-identity.js';
import { processState } from './process-state.js';
import {
  type FunctionEntry,
  findModule,
  type MethodEntry,
  methodKey,
  targetOfFunction,
  targetOfMethod,
} from './registry.js';

/**
 * The key a remote worker serves a target under, computed alike by the caller and by the worker,
 * each from its own registry and its own file URLs:
 * - the target's own `id` option, when it has one (a method or a wrapped function);
 * - `<class id>.<method>`, when its class has an `id` of its own;
 * - otherwise `<package>:<path>#<Class.method>` or `<package>:<path>#<function id>` (module-identity.ts).
 * Undefined: the target cannot be named between machines (its module is in no package, and no id).
 */
export function remoteKey(target: Target): string | undefined {
  const module = findModule(target.module);
  if (target.kind === 'function') {
    const own = module?.functions.get(target.id)?.options.id;
    if (own !== undefined) return own;
    const identity = moduleIdentity(target.module);
    return identity === undefined ? undefined : `${identity}#${target.id}`;
  }
  const entry = module?.classes[target.classIndex];
  const own = entry?.methods.get(methodKey(target.method, target.isStatic))?.options.id;
  if (own !== undefined) return own;
  // A static method whose class also offloads an instance method of its name: `static area`.
  const member =
    target.isStatic && entry?.methods.has(methodKey(target.method, false)) ? `static ${target.method}` : target.method;
  const classId = entry?.ctor ? ownClassDefaults(entry.ctor).id : undefined;
  if (classId !== undefined) return `${classId}.${member}`;
  const identity = moduleIdentity(target.module);
  return identity === undefined ? undefined : `${identity}#${target.className}.${member}`;
}

/** For messages: `Thumbnailer.render`. */
export function targetLabel(target: Target): string {
  return target.kind === 'method' ? `${target.className}.${target.method}` : target.id;
}

/**
 * Why a target cannot run in a remote pool, and the fix: said when it is defined for a pool that
 * is remote already, when its pool is made remote, and at its call otherwise.
 */
export function unnamedMessage(label: string, moduleUrl: string, pool: string, more: Unnamed[] = []): string {
  const others = more.length > 0 ? ` (So are ${more.map((u) => u.label).join(', ')}.)` : '';
  return (
    `${label} cannot run in the remote pool "${pool}": its module (${moduleUrl}) is in no package (no ` +
    `package.json with a "name" above it), so a worker on another machine cannot know it. Put the module in a ` +
    `package, or give the method, its class or the wrapped function an id: @runInProcess({ id: 'thumbs/render' }).${others}`
  );
}

/** A target that cannot be named between machines, for the refusal. */
export interface Unnamed {
  label: string;
  module: string;
}

/**
 * The pool whose calls a registered target's are, as a call on its declaring class resolves it: its
 * own `pool` option, its class's, or the default pool. (A call on a subclass that names another
 * pool goes there: call.ts reads the class defaults of the class it is called on.)
 */
export function poolOfEntry(entry: MethodEntry | FunctionEntry): string {
  if (!('owner' in entry)) return entry.options.pool ?? defaultPoolName;
  return entry.options.pool ?? classDefaults(entry.owner.ctor).pool ?? defaultPoolName;
}

/**
 * The targets registered so far whose pool is `pool` (poolOfEntry) and that no remote worker could
 * be told about. Classes whose constructor is not known yet (standard decorators, instance methods
 * only, before the class decorator) are left to the check at their first call.
 */
export function unnamedTargetsIn(pool: string, onlyModule?: string): Unnamed[] {
  const found: Unnamed[] = [];
  for (const module of processState.registry.modules.values()) {
    if (onlyModule !== undefined && module.url !== onlyModule) continue;
    for (const entry of module.classes) {
      if (!entry.ctor) continue;
      for (const method of entry.methods.values()) {
        if (poolOfEntry(method) !== pool) continue;
        const target = targetOfMethod(method);
        if (remoteKey(target) === undefined) found.push({ label: targetLabel(target), module: module.url });
      }
    }
    for (const fn of module.functions.values()) {
      if (poolOfEntry(fn) !== pool) continue;
      const target = targetOfFunction(fn);
      if (remoteKey(target) === undefined) found.push({ label: fn.id, module: module.url });
    }
  }
  return found;
}

/** The first module registered so far that declares a target of `pool` (poolOfEntry). */
export function firstModuleOf(pool: string): string | undefined {
  for (const module of processState.registry.modules.values()) {
    for (const entry of module.classes) {
      for (const method of entry.methods.values()) if (poolOfEntry(method) === pool) return module.url;
    }
    for (const fn of module.functions.values()) if (poolOfEntry(fn) === pool) return module.url;
  }
  return undefined;
}
