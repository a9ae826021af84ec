import { callFunction } from '../call/call.js';
import { usageError } from '../errors.js';
import type { RunInProcessOptions } from '../options.js';
import {
  addFunction,
  type FunctionEntry,
  isAsyncGeneratorFunction,
  moduleEntry,
  removeFunction,
} from '../shared/registry.js';
import { declaration } from './declaring-module.js';
import { refuseUnnamedIn } from './remote-naming.js';
import { checkTargetShape } from './target-shape.js';

/**
 * `runInProcess(fn)`: registers `fn` under an id unique in its module, and returns a function that
 * ships each call to a child, where the same module registers the same id and runs `fn`.
 */
export function wrapFunction(fn: Function, options: RunInProcessOptions): (...args: unknown[]) => unknown {
  const id = options.name ?? fn.name;
  if (!id) {
    throw usageError(
      'runInProcess(fn): the function has no name, and the child finds it again by name. ' +
        "Use a named function (runInProcess(function parse(input) { … })) or pass { name: 'parse' }. (Named in " +
        'your source? A bundler or minifier dropped the name: give it with { name }, and see the README on bundles.)',
    );
  }
  checkTargetShape(fn, options, `${id}()`);
  const { url: moduleUrl, stub } = declaration(options.module, `${id}()`);
  const entry: FunctionEntry = {
    module: moduleEntry(moduleUrl),
    id,
    impl: fn,
    options,
    streams: isAsyncGeneratorFunction(fn),
    stub,
  };
  addFunction(entry);
  try {
    refuseUnnamedIn(moduleUrl);
  } catch (error) {
    removeFunction(entry); // Refused: as if never wrapped, so that a fixed wrap may follow.
    throw error;
  }
  const offloaded = function (this: unknown, ...args: unknown[]): unknown {
    return callFunction(entry, args);
  };
  // As the function it stands for: its name, and its number of parameters (which some libraries read).
  Object.defineProperty(offloaded, 'name', { value: id, configurable: true });
  Object.defineProperty(offloaded, 'length', { value: fn.length, configurable: true });
  return offloaded;
}
