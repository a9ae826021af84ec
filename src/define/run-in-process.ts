import { usageError } from '../errors.js';
import { checkRunOptions, type RunInProcessOptions } from '../options.js';
import {
  applyLegacyClass,
  applyLegacyMethod,
  applyStandard,
  decoratorFor,
  isLegacyMethodCall,
  isStandardContext,
} from './decorate.js';
import { wrapFunction } from './wrap-function.js';

/**
 * What an `async *` method or function may be declared to return: an AsyncGenerator, or the older
 * `AsyncIterableIterator<T>`, which the generator the caller gets is as well. Not `AsyncIterable<T>`:
 * a Node stream or a web ReadableStream is one too, and a plain function returning one does not
 * stream (only an `async *` one does), so it must not type-check as a stream.
 */
type StreamReturn = AsyncGenerator<unknown, unknown, any> | AsyncIterableIterator<unknown>;

/**
 * Any method that returns a Promise, or an async generator (`async *`), whose items then stream
 * from the child: what an offloaded call returns.
 */
type AsyncMethod<This> = (this: This, ...args: any[]) => Promise<unknown> | StreamReturn;

/**
 * Not a type to use: the last overloads take a method that does not return a Promise, and ask for
 * this, which no context has, so that the compiler's message (it reports the last overload) names
 * the fix instead of listing types. Exported because the declarations name it (`@public` tells knip).
 *
 * @public
 */
export interface MethodMustBeAsync {
  'make it an async method: @runInProcess runs it in another process, so it must return a Promise': true;
}

/**
 * The wrapper's options, which a decorator context must not pass for: every option is optional,
 * and a getter's context would otherwise match this overload and compile. A method that is not
 * async, given to the bare decorator, fails here last (its context's `kind` is no such text), so
 * the compiler's message names the fix; and a mistyped option of a wrapper is told against these
 * options, not against a decorator context.
 */
type WrapperOptions = RunInProcessOptions & {
  kind?: MethodMustBeAsyncText;
  addInitializer?: MethodMustBeAsyncText;
};

type MethodMustBeAsyncText = keyof MethodMustBeAsync;

/**
 * A decorator's options: `name` is a wrapper's (a method or a class is known by its own name). Typed
 * as a text that says so, which the compiler's message then shows.
 */
type DecoratorOptions = Omit<RunInProcessOptions, 'name'> & {
  name?: 'leave name out: it is for runInProcess(fn), and a decorated method is known by its class and its own name';
};

/**
 * The function that `runInProcess(fn)` gives back, with `fn`'s parameters: it returns a promise of
 * `fn`'s result or, for an `async function*`, an async generator of its items and return value.
 */
export type OffloadedFunction<F extends (...args: any[]) => unknown> =
  // A function that returns `any` (JSON.parse, say) gives a promise of `any`: the conditional below
  // would give the union of both branches.
  0 extends 1 & ReturnType<F>
    ? (...args: Parameters<F>) => Promise<any>
    : // One that never returns (it exits, or always throws) gives a promise too: `never` would
      // match the generator's branch, as it extends every type.
      [ReturnType<F>] extends [never]
      ? (...args: Parameters<F>) => Promise<never>
      : ReturnType<F> extends AsyncGenerator<infer T, infer R, any>
        ? (...args: Parameters<F>) => AsyncGenerator<T, R, unknown>
        : ReturnType<F> extends AsyncIterableIterator<infer T>
          ? (...args: Parameters<F>) => AsyncGenerator<T, unknown, unknown>
          : (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;

/**
 * What `@runInProcess(options)` returns: a decorator for an async method or a class, in both
 * TypeScript decorator modes. On a class it sets defaults for the class's decorated methods.
 */
export interface RunInProcessDecorator {
  /** Standard decorators, on an async method. */
  <This, Method extends AsyncMethod<This>>(value: Method, context: ClassMethodDecoratorContext<This, Method>): Method;
  /** Standard decorators, on a class. */
  <Class extends abstract new (...args: any) => unknown>(value: Class, context: ClassDecoratorContext<Class>): void;
  /** Legacy decorators (`experimentalDecorators`), on an async method. */
  <Method extends (...args: any[]) => Promise<unknown> | StreamReturn>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<Method>,
  ): TypedPropertyDescriptor<Method>;
  /** Legacy decorators, on a class. */
  <Class extends abstract new (...args: any) => unknown>(target: Class): void;
  /**
   * On anything else (a method that is not async, a field, a getter, an accessor), in either mode: a
   * compile error that says what to do. It asks for what neither a context nor a key is, the text
   * itself among them, so that the compiler's message (of the last overload) shows the text.
   */
  (value: unknown, context: MethodMustBeAsync | MethodMustBeAsyncText, descriptor?: unknown): never;
}

/**
 * Runs a method or a function in a pooled child process.
 *
 * As a decorator, bare or with options, on instance and static async methods, in both TypeScript
 * decorator modes; on a class, `@runInProcess(options)` sets defaults for its decorated methods.
 * Around a function, `runInProcess(fn, options?)` returns a promise-returning function with the
 * same parameters. The child imports the declaring module fresh and runs the real code there.
 *
 * @example
 * export class Thumbnailer {
 *   @runInProcess({ timeout: 10_000 })
 *   async render(svg: string): Promise<Uint8Array> { ... }
 * }
 * export const parseUntrusted = runInProcess(function parseUntrusted(input: string) { return native.parse(input); });
 */
export function runInProcess<This, Method extends AsyncMethod<This>>(
  value: Method,
  context: ClassMethodDecoratorContext<This, Method>,
): Method;
export function runInProcess<Method extends (...args: any[]) => Promise<unknown> | StreamReturn>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<Method>,
): TypedPropertyDescriptor<Method>;
// `options?: undefined`: a decorator may be given more arguments than an overload takes, and its
// context must not pass for none.
export function runInProcess<F extends (...args: any[]) => unknown>(fn: F, options?: undefined): OffloadedFunction<F>;
export function runInProcess(options?: DecoratorOptions): RunInProcessDecorator;
// After the options' overload: the last that a two-argument call, or a decorator on a method that is
// not async, fails against, whose error the compiler reports (see WrapperOptions).
export function runInProcess<F extends (...args: any[]) => unknown>(
  fn: F,
  options: WrapperOptions | undefined,
): OffloadedFunction<F>;
export function runInProcess(
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor & MethodMustBeAsync,
): never;
export function runInProcess(...args: unknown[]): unknown {
  const [first, second, third] = args;
  if (isStandardContext(second)) return applyStandard(first, second, {});
  if (isLegacyMethodCall(args)) {
    return applyLegacyMethod(first as object, second as string | symbol, third as PropertyDescriptor, {});
  }
  if (typeof first === 'function') {
    if (args.length === 1 && isClass(first)) return applyLegacyClass(first, {});
    if (isClass(first)) {
      throw usageError(
        `runInProcess(fn, options) wraps a function, and ${first.name || 'this'} is a class, which a child could not ` +
          `call. Put @runInProcess above its async methods, or @runInProcess(options) above the class to give them ` +
          `defaults; or wrap a function that uses the class.`,
      );
    }
    return wrapFunction(first, checkRunOptions(second, 'runInProcess(fn, options)'));
  }
  if (args.length <= 1) return decoratorFor(first);
  throw usageError(
    'runInProcess() takes a function to wrap, options for a decorator, or is used as a decorator ' +
      '(@runInProcess above an async method). Got: ' +
      args.map((arg) => typeof arg).join(', ') +
      '.',
  );
}

function isClass(fn: Function): boolean {
  return /^class\b/.test(Function.prototype.toString.call(fn));
}
