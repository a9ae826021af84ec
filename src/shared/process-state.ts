import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallOptions } from '../options.js';
import type { Registry } from './registry.js';

/**
 * The state that every copy of this library in one process must share, in one object on
 * `globalThis`. An app may hold two copies (a dependency with its own, say): a class decorated
 * through one copy must be found by a child that loaded the other, an error class registered
 * through one must be rebuilt by the other, and `withCallOptions()` of one must reach calls made
 * through the other.
 *
 * Deliberately per copy, and so not here: the pools (a `configure()` or `shutdown()` reaches the
 * pools of its own copy), warnings given once, and caches of derived data (target addresses,
 * class options read from metadata).
 */
export interface ProcessState {
  /** What the decorators and wrappers registered, per declaring module (registry.ts). */
  readonly registry: Registry;
  /** Error classes given to `registerError()`, by name. */
  readonly registeredErrors: Map<string, Function>;
  /** The options of `withCallOptions()`, for the calls made inside it. */
  readonly callOptions: AsyncLocalStorage<CallOptions>;
  /** True in a child started by run-in-process, set before any user module is imported. */
  isChild: boolean;
  /**
   * Module namespaces by module URL, as a module runner other than Node's loaded them (vitest, with
   * the `run-in-process/vitest` plugin). The parent finds a module's exported error classes there:
   * a native import() of the file would load a second instance with classes of its own.
   */
  readonly namespaces: Map<string, object>;
}

// The version in the key changes whenever the shape above changes incompatibly. src/vitest.ts, which
// runs in Vite's process without this file, writes the same key into the code it generates.
const stateKey = Symbol.for('run-in-process.state.v3');

export const processState: ProcessState = ((globalThis as { [stateKey]?: ProcessState })[stateKey] ??= {
  registry: { modules: new Map(), classesByCtor: new WeakMap(), classesByIdentity: new WeakMap() },
  registeredErrors: new Map(),
  callOptions: new AsyncLocalStorage<CallOptions>(),
  isChild: false,
  namespaces: new Map(),
});
