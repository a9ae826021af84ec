import { libraryErrorClasses } from '../errors.js';
import type { ErrorNode } from '../protocol.js';

/**
 * Which class an error from the child is rebuilt as, in the parent: this library's own classes,
 * then classes registered with `registerError`, then the class the declaring module exports
 * under the name the child saw. Built-in classes (TypeError, AggregateError…) are serialize-error's.
 */

const registeredKey = Symbol.for('run-in-process.registered-errors');
const registered: Map<string, Function> = ((globalThis as { [registeredKey]?: Map<string, Function> })[
  registeredKey
] ??= new Map());

/**
 * Makes errors of this class thrown in a child come back as instances of it (fields kept,
 * constructor not re-run), also when the declaring module does not export it. Classes are
 * matched by `name`; registering another class of the same name replaces the earlier one.
 *
 * @example
 * class QuotaError extends Error { constructor(readonly limit: number) { super(`over ${limit}`); } }
 * registerError(QuotaError);
 */
export function registerError(errorClass: new (...args: any[]) => Error): void {
  if (typeof errorClass !== 'function' || !(errorClass.prototype instanceof Error || errorClass === Error)) {
    throw new TypeError('registerError(Class): pass an error class, a subclass of Error.');
  }
  // Matched by name across processes; a module loaded again (hot reload) registers its new class.
  registered.set(errorClass.name, errorClass);
}

export function resolveErrorClass(node: ErrorNode, moduleExports?: object): Function | undefined {
  const own = libraryErrorClasses.get(node.className) ?? registered.get(node.className);
  if (own) return own;
  if (node.exportName === undefined || !moduleExports) return undefined;
  const direct = (moduleExports as Record<string, unknown>)[node.exportName];
  const viaDefault = ((moduleExports as { default?: Record<string, unknown> }).default ?? {})[node.exportName];
  const found = typeof direct === 'function' ? direct : viaDefault;
  return typeof found === 'function' ? found : undefined;
}
