import { targetNotFoundCode, type MethodTarget, type Target } from '../protocol.js';
import { exportedValues } from '../shared/module-exports.js';
import { importedNamespace } from './module-cache.js';
import { declaringModuleHint } from '../shared/declaring-module-hint.js';
import { findModule, learnConstructor, methodKey, type ClassEntry } from '../shared/registry.js';

/**
 * In the child, after the declaring module was imported (which re-ran its decorators): the real
 * function to run, and `this` rebuilt from its snapshot on the class's prototype, constructor not run.
 */
export function resolveTarget(
  target: Target,
  moduleExports: object,
  snapshot: Record<string, unknown> | undefined,
): { fn: Function; self: unknown } {
  const module = findModule(target.module);
  if (!module) {
    throw notFound(
      `${target.module} was imported, but it registered nothing with run-in-process. Does it import ` +
        `'run-in-process' from the same place in the child, and declare its decorators and wrap its functions ` +
        `unconditionally, at its top level (not in a function, a constructor or a class field)? ${declaringModuleHint(target.module)}`,
    );
  }
  if (target.kind === 'function') {
    const entry = module.functions.get(target.id);
    if (!entry) {
      throw notFound(
        `No function "${target.id}" is wrapped with runInProcess() in ${target.module} as the child imports it. ` +
          `Wrap it at the top level of its module (export const ${target.id} = runInProcess(…)), not in a function, ` +
          `a constructor or a class field, which the child does not run.`,
      );
    }
    return { fn: entry.impl, self: undefined };
  }
  const owner = classAt(target.module, target.classIndex, target.className, moduleExports);
  const method = owner.methods.get(methodKey(target.method, target.isStatic));
  if (!method)
    throw notFound(`${target.className}.${target.method} is not decorated with @runInProcess in ${target.module}.`);
  // A static method's `this` is the class it was called on: the declaring class, or a subclass.
  const instanceClass = target.instanceClass
    ? classAt(target.instanceClass.module, target.instanceClass.classIndex, target.instanceClass.className, undefined)
    : owner;
  // A subclass declared in another module is exported (if at all) from there: call-runner.ts imported it.
  const instanceExports = target.instanceClass
    ? (importedNamespace(target.instanceClass.module) ?? moduleExports)
    : moduleExports;
  if (target.isStatic) {
    // A subclass that the child cannot find (standard decorators: not exported, no decorated static,
    // no class decorator) leaves `this` the declaring class, as before subclasses were told apart.
    let ctor: Function;
    try {
      ctor = constructorOf(instanceClass, instanceExports, target);
    } catch (error) {
      if (!isTargetNotFound(error)) throw error;
      ctor = constructorOf(owner, moduleExports, target);
    }
    return { fn: method.impl, self: ctor };
  }
  const ctor = constructorOf(instanceClass, instanceExports, target);
  // The snapshot itself becomes `this` (it is this call's own copy): a field that held the instance
  // in the parent holds it here too.
  const self = Object.setPrototypeOf(snapshot ?? {}, ctor.prototype as object) as object;
  return { fn: method.impl, self };
}

function classAt(url: string, index: number, expectedName: string, moduleExports: object | undefined): ClassEntry {
  const entry = findModule(url)?.classes[index];
  if (moduleExports && entry && !entry.ctor) findInExports(entry, moduleExports);
  const name = entry?.ctor?.name;
  if (!entry || (expectedName && name && name !== expectedName)) {
    throw notFound(
      `The child found ${name ? `class ${name}` : 'no class'} where the parent has ${expectedName || 'a class'} ` +
        `(decorated class #${index} of ${url}). The module declares its decorated classes differently in ` +
        `the child: declare decorated classes at the top level of the module, unconditionally (not made by a ` +
        `function, and with no isChildProcess() branch around them).`,
    );
  }
  return entry;
}

function constructorOf(entry: ClassEntry, moduleExports: object, target: MethodTarget): Function {
  if (!entry.ctor) findInExports(entry, moduleExports);
  if (entry.ctor) return entry.ctor;
  throw notFound(
    `The child cannot rebuild \`this\` for ${target.className || 'the class'}.${target.method}: with standard ` +
      `decorators a class is only found when it is exported, has a decorated static method, or is itself ` +
      `decorated. Export the class, or put @runInProcess() on it.`,
  );
}

/** Under standard decorators an instance-only class is known by its metadata; its export carries it. */
function findInExports(entry: ClassEntry, moduleExports: object): void {
  for (const [, value] of exportedValues(moduleExports)) {
    if (
      typeof value === 'function' &&
      Object.hasOwn(value, Symbol.metadata) &&
      value[Symbol.metadata] === entry.identity
    ) {
      learnConstructor(entry, value);
      return;
    }
  }
}

function notFound(message: string): Error {
  return Object.assign(new Error(message), { code: targetNotFoundCode });
}

/** Whether a load failed here because the module, loaded, holds no such target (not a failed import). */
export function isTargetNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === targetNotFoundCode;
}
