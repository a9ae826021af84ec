import { lineageOf, offloadedMethodsOf } from '../shared/class-options.js';
import { processState } from '../shared/process-state.js';
import { classOfConstructor } from '../shared/registry.js';
import { warnOnce } from '../shared/warn-once.js';
import { setImmediate } from '../shared/real-clock.js';

/**
 * `@runInProcess` above a class gives defaults to its decorated methods; it offloads nothing by
 * itself. A class with no decorated method of its own or inherited, and no subclass with one by the
 * next turn (one declared in the same module, or in a module imported with it), most likely meant
 * its methods to run in a child: they all run here, and nothing said so. A class that only gives
 * defaults to subclasses declared later than that is warned about too: the warning can be silenced
 * by its code, as Node's own.
 */
export function warnIfClassOffloadsNothing(ctor: Function): void {
  if (processState.isChild || offloadsAny(ctor)) return;
  setImmediate(() => {
    if (offloadsAny(ctor) || hasOffloadingSubclass(ctor)) return;
    const name = ctor.name || 'this class';
    warnOnce(
      'RUN_IN_PROCESS_CLASS_OFFLOADS_NOTHING',
      ctor,
      () =>
        `@runInProcess is above class ${name}, none of whose methods is decorated: all of them run in this ` +
        `process. On a class, @runInProcess(options) only gives defaults to its decorated methods (and its ` +
        `subclasses'). Put @runInProcess above each async method that is to run in a child.`,
    );
  }).unref();
}

/** Whether the class or one of its ancestors has a decorated method. */
function offloadsAny(ctor: Function): boolean {
  for (const at of lineageOf(ctor)) {
    // Under standard decorators, instance methods are recorded on the class only by its own decorator.
    if (offloadedMethodsOf(at).length > 0 || (classOfConstructor(at)?.methods.size ?? 0) > 0) return true;
  }
  return false;
}

/**
 * Whether a class registered with decorated methods extends this one: by its constructor, or, under
 * standard decorators (whose instance methods do not see the constructor), by its decorator
 * metadata, whose prototype is its parent class's.
 */
function hasOffloadingSubclass(ctor: Function): boolean {
  const metadata = Object.hasOwn(ctor, Symbol.metadata)
    ? (ctor as { [Symbol.metadata]?: unknown })[Symbol.metadata]
    : undefined;
  for (const module of processState.registry.modules.values()) {
    for (const entry of module.classes) {
      if (entry.methods.size === 0) continue;
      if (entry.ctor && entry.ctor !== ctor && [...lineageOf(entry.ctor)].includes(ctor)) return true;
      if (typeof metadata === 'object' && metadata !== null && entry.identity !== metadata) {
        if (Object.prototype.isPrototypeOf.call(metadata, entry.identity)) return true;
      }
    }
  }
  return false;
}
