import { libraryErrorClasses, usageError } from '../errors.js';
import type { ErrorNode } from '../protocol.js';
import { exportNamed } from './module-exports.js';
import { processState } from './process-state.js';

/**
 * Which class an error from the child is rebuilt as, in the parent: this library's own classes,
 * then classes registered with `registerError`, then the class the declaring module exports
 * under the name the child saw. Built-in classes (TypeError, AggregateError…) are serialize-error's.
 */

const registered = processState.registeredErrors;

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
    throw usageError('registerError(Class): pass an error class, a subclass of Error.');
  }
  // Matched by name across processes; a module loaded again (hot reload) registers its new class.
  registered.set(errorClass.name, errorClass);
}

export function resolveErrorClass(node: ErrorNode, moduleExports?: object): Function | undefined {
  const own = libraryErrorClasses.get(node.className) ?? registered.get(node.className);
  if (own) return own;
  if (node.exportName === undefined || !moduleExports) return undefined;
  const found = exportNamed(moduleExports, node.exportName);
  return typeof found === 'function' ? found : undefined;
}
