import { builtinErrorNames, libraryErrorClasses, usageError } from '../errors.js';
import { exportNamed } from './module-exports.js';
import { processState } from './process-state.js';

/**
 * Which class an error from the child is rebuilt as, in the parent: this library's own class when
 * the child says the error was of that very class (not just of that name), else a class registered
 * with `registerError`, else the class the declaring module exports under the name the child saw.
 * An app's class thus wins over the library's class of the same name (its own `TimeoutError`).
 * Failing those, the codec uses the nearest built-in or library class the error extends.
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
  if (!isErrorClass(errorClass)) {
    throw usageError('registerError(Class): pass an error class, a subclass of Error.');
  }
  // Matched by name across processes: a class without one could never be told apart.
  if (typeof errorClass.name !== 'string' || errorClass.name === '') {
    throw usageError(
      'registerError(Class): the class has no name, and errors are matched by their class name across processes. ' +
        'Declare it with one (class QuotaError extends Error { … }).',
    );
  }
  // Under a built-in's name, it would stand for every built-in
  // error of that name from a child (a plain `null.x` would come back as it).
  if (builtInNames.has(errorClass.name)) {
    throw usageError(
      `registerError(${errorClass.name}): the class is named like the built-in ${errorClass.name}, and errors are ` +
        `matched by name, so every ${errorClass.name} thrown in a child would come back as it. Give the class a ` +
        `name of its own (class QuotaError extends ${errorClass.name} { … }).`,
    );
  }
  // A module loaded again (hot reload) registers its new class.
  registered.set(errorClass.name, errorClass);
}

const builtInNames = new Set(builtinErrorNames);

/** What the child said of an error's class (an ErrorNode, with `library` once decoded). */
export interface ErrorClassOf {
  className: string;
  exportName?: string | undefined;
  /** The error's class was this library's own. */
  library?: boolean;
  /** It is the value thrown itself, not a cause or an error held in it. */
  thrown?: boolean;
}

export function resolveErrorClass(node: ErrorClassOf, moduleExports?: object): Function | undefined {
  if (node.library) return libraryErrorClasses.get(node.className);
  const own = registered.get(node.className);
  if (own) return own;
  if (typeof node.exportName !== 'string' || !moduleExports) return undefined;
  const found = exportNamed(moduleExports, node.exportName);
  // Only an error class: what a child names could be any export (a service class, a function), and
  // the error would come back as an instance of it.
  return isErrorClass(found) ? found : undefined;
}

function isErrorClass(value: unknown): value is Function {
  return typeof value === 'function' && (value === Error || value.prototype instanceof Error);
}
