import { callMethod } from '../call/call.js';
import { optionError, usageError } from '../errors.js';
import { checkRunOptions, type RunInProcessOptions } from '../options.js';
import { addOffloadedMethod, setClassDefaults } from '../shared/class-options.js';
import {
  addMethod,
  classEntry,
  isAsyncGeneratorFunction,
  learnConstructor,
  methodKey,
  moduleEntry,
  setReplacement,
  type ClassEntry,
  type MethodEntry,
} from '../shared/registry.js';
import { warnIfClassOffloadsNothing } from './empty-class-warning.js';
import { declaringModule } from './declaring-module.js';
import { checkTargetShape } from './target-shape.js';
import { refuseUnnamedIn } from './remote-naming.js';

/**
 * Applying the decorator, in both TypeScript modes. Legacy decorators (`experimentalDecorators`)
 * receive the prototype or the constructor; standard ones receive a context whose `metadata`
 * object stands for the class until its constructor exists.
 */

export type StandardContext = ClassMethodDecoratorContext | ClassDecoratorContext | DecoratorContext;

export function isStandardContext(value: unknown): value is StandardContext {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string' &&
    typeof (value as { addInitializer?: unknown }).addInitializer === 'function'
  );
}

export function isLegacyMethodCall(args: unknown[]): boolean {
  const [target, key, descriptor] = args;
  return (
    args.length === 3 &&
    (typeof target === 'object' || typeof target === 'function') &&
    target !== null &&
    (typeof key === 'string' || typeof key === 'symbol') &&
    (descriptor === undefined || (typeof descriptor === 'object' && descriptor !== null))
  );
}

export function applyStandard(value: unknown, context: StandardContext, options: RunInProcessOptions): unknown {
  const where = describeStandardTarget(context);
  if (context.kind === 'class') {
    const ctor = value as Function;
    const entry = standardClassEntry(context, options, where);
    learnConstructor(entry, ctor);
    for (const key of entry.methods.keys()) addOffloadedMethod(ctor, key);
    setClassDefaults(ctor, options);
    refuseUnnamedIn(entry.module.url);
    warnIfClassOffloadsNothing(ctor);
    return undefined;
  }
  if (context.kind !== 'method' || typeof value !== 'function') {
    throw usageError(
      `@runInProcess cannot decorate ${where}: it is ${context.kind === 'accessor' ? 'an' : 'a'} ${context.kind}. Decorate an async method ` +
        `(or a class, to set defaults for its methods).`,
    );
  }
  const methodContext = context as ClassMethodDecoratorContext;
  const name = memberName(methodContext.name, where);
  checkTargetShape(value, options, where);
  const owner = standardClassEntry(context, options, where);
  const method = register(owner, name, methodContext.static, value, options);
  if (methodContext.static) {
    methodContext.addInitializer(function (this: unknown) {
      learnConstructor(owner, this as Function);
      addOffloadedMethod(this as Function, methodKey(name, true));
    });
  }
  return offloaded(method, value);
}

export function applyLegacyMethod(
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor | undefined,
  options: RunInProcessOptions,
): PropertyDescriptor {
  const isStatic = typeof target === 'function';
  const ctor = (isStatic ? target : target.constructor) as Function;
  const where = `${ctor.name}.${String(key)}`;
  const impl: unknown = descriptor?.value;
  if (typeof impl !== 'function') {
    throw usageError(
      `@runInProcess cannot decorate ${where}: it is not a method (a getter, setter or field?). ` +
        `Decorate an async method.`,
    );
  }
  checkTargetShape(impl, options, where);
  // With `emitDecoratorMetadata`, TypeScript records the declared return type: `Promise` or not.
  // An `async *` method's is `Object` (AsyncGenerator is an interface), and it streams.
  const returnType: unknown = Reflect.getMetadata('design:returntype', target, key);
  if (returnType !== undefined && returnType !== Promise && !isAsyncGeneratorFunction(impl)) {
    throw usageError(
      `@runInProcess cannot decorate ${where}: it is declared to return ${describeType(returnType)}, ` +
        `but an offloaded call always returns a Promise (or an AsyncGenerator). Declare it async, returning ` +
        `Promise<…>, or \`async *\` to stream its results.`,
    );
  }
  const name = memberName(key, where);
  const moduleUrl = declaringModule(options.module, where);
  const owner = classEntry(moduleEntry(moduleUrl), ctor);
  const method = register(owner, name, isStatic, impl, options);
  addOffloadedMethod(ctor, methodKey(name, isStatic));
  return { ...descriptor, value: offloaded(method, impl) };
}

export function applyLegacyClass(ctor: Function, options: RunInProcessOptions): void {
  const moduleUrl = declaringModule(options.module, `class ${ctor.name}`);
  classEntry(moduleEntry(moduleUrl), ctor);
  setClassDefaults(ctor, options);
  refuseUnnamedIn(moduleUrl);
  warnIfClassOffloadsNothing(ctor);
}

/** A decorator factory's result: `@runInProcess(options)` works in both modes, on methods and classes. */
export function decoratorFor(rawOptions: unknown): (...args: unknown[]) => unknown {
  const options = checkRunOptions(rawOptions, '@runInProcess(options)');
  // Silently ignored otherwise: a method or a class is known by its own name.
  if (options.name !== undefined) {
    throw optionError(
      `@runInProcess(options): name applies to a wrapped function (runInProcess(fn, { name })), not to a method or ` +
        `a class, which the child finds by its own name. To name a method for remote workers, use id.`,
    );
  }
  return function runInProcessDecorator(...args: unknown[]): unknown {
    const [first, second, third] = args;
    if (isStandardContext(second)) return applyStandard(first, second, options);
    if (isLegacyMethodCall(args)) {
      return applyLegacyMethod(first as object, second as string | symbol, third as PropertyDescriptor, options);
    }
    if (args.length === 1 && typeof first === 'function') {
      // A class has a prototype; an arrow or async function does not, and is what a caller meant to wrap.
      if (first.prototype === undefined || isAsyncGeneratorFunction(first)) {
        throw usageError(
          `runInProcess(options)(${first.name || 'fn'}): runInProcess(options) is a decorator, for classes and ` +
            `methods. To wrap a function, pass it first: runInProcess(fn, options).`,
        );
      }
      return applyLegacyClass(first, options);
    }
    throw usageError(
      '@runInProcess(options) was applied to something that is neither a method nor a class. ' +
        'Use it as a decorator: @runInProcess({ timeout: 5000 }) above an async method or a class.',
    );
  };
}

function standardClassEntry(context: StandardContext, options: RunInProcessOptions, where: string): ClassEntry {
  const { metadata } = context as { metadata?: object };
  if (typeof metadata !== 'object' || metadata === null) {
    throw usageError(
      `@runInProcess cannot identify the class of ${where}: the decorator context has no metadata object. ` +
        `Import 'run-in-process' before the class is defined, and compile with TypeScript ≥ 5.2, esbuild ≥ 0.21, or Babel's ` +
        `decorators plugin at version '2023-05' or later (earlier versions give no metadata).`,
    );
  }
  const moduleUrl = declaringModule(options.module, where);
  return classEntry(moduleEntry(moduleUrl), metadata);
}

function register(owner: ClassEntry, name: string, isStatic: boolean, impl: Function, options: RunInProcessOptions) {
  const method: MethodEntry = { owner, name, isStatic, impl, options, streams: isAsyncGeneratorFunction(impl) };
  addMethod(method);
  return method;
}

/** What replaces the method: same name and arity, but each call ships a recipe to a child. */
function offloaded(method: MethodEntry, impl: Function): Function {
  const replacement = function (this: unknown, ...args: unknown[]): unknown {
    return callMethod(method, this, args);
  };
  Object.defineProperty(replacement, 'name', { value: impl.name, configurable: true });
  Object.defineProperty(replacement, 'length', { value: impl.length, configurable: true });
  carryMetadata(impl, replacement);
  setReplacement(method, replacement);
  return replacement;
}

/**
 * What decorators applied before this one (below it) put on the method itself with reflect-metadata:
 * NestJS keeps a route's path, its guards' roles and its status code there (SetMetadata). Left on the
 * function this one replaces, it was lost: a route vanished (404), and a guard saw no roles and let
 * every caller through (a review's). The decorators above it put theirs on the replacement.
 */
function carryMetadata(from: Function, to: Function): void {
  for (const key of Reflect.getOwnMetadataKeys(from)) {
    if (!Reflect.hasOwnMetadata(key, to)) Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, from), to);
  }
}

function memberName(key: string | symbol, where: string): string {
  if (typeof key === 'string') return key;
  const registered = Symbol.keyFor(key);
  if (registered !== undefined) return `@@${registered}`;
  throw usageError(
    `@runInProcess cannot decorate ${where}: a method named by a unique symbol cannot be found again in ` +
      `another process. Use a string name, or a Symbol.for() symbol.`,
  );
}

function describeStandardTarget(context: StandardContext): string {
  const name = context.name === undefined ? 'an anonymous class' : String(context.name);
  return context.kind === 'class' ? `class ${name}` : name;
}

function describeType(type: unknown): string {
  return typeof type === 'function' ? type.name || 'a non-Promise type' : String(type);
}
