// Decorators, in both TypeScript decorator modes: this file is compiled by tsconfig.standard.json
// (TC39 decorators) and by tsconfig.legacy.json (experimentalDecorators + emitDecoratorMetadata).
import { type RunInProcessDecorator, runInProcess } from 'run-in-process';
import { assertType, type Equal } from './helpers.js';

@runInProcess({ timeout: 1_000, pool: 'hashing' })
export class Service {
  constructor(private readonly base: number) {}

  @runInProcess
  async add(n: number): Promise<number> {
    return this.base + n;
  }

  @runInProcess({ timeout: 500 })
  async describe(label: string, options?: { verbose: boolean }): Promise<{ label: string; verbose: boolean }> {
    return { label, verbose: options?.verbose ?? false };
  }

  /** Not `async`, but returns a Promise: allowed. */
  @runInProcess()
  later(n: number): Promise<number> {
    return Promise.resolve(n);
  }

  @runInProcess({ pool: 'native', timeout: 500 })
  static async version(): Promise<string> {
    return '1';
  }

  @runInProcess
  static async sum(...values: number[]): Promise<number> {
    return values.reduce((total, value) => total + value, 0);
  }
}

/** A method that declares its `this` type. */
export class ThisTyped {
  constructor(readonly n: number) {}

  @runInProcess
  async run(this: ThisTyped, k: number): Promise<number> {
    return this.n + k;
  }
}

/** A class decorated with options and no decorated method of its own (its subclasses may have some). */
@runInProcess({ pool: 'base' })
export abstract class Base {}

// A decorated method keeps its parameter and return types.
assertType<Equal<Parameters<Service['add']>, [n: number]>>();
assertType<Equal<ReturnType<Service['add']>, Promise<number>>>();
assertType<Equal<Parameters<Service['describe']>, [label: string, options?: { verbose: boolean }]>>();
assertType<Equal<ReturnType<Service['describe']>, Promise<{ label: string; verbose: boolean }>>>();
assertType<Equal<Service['later'], (n: number) => Promise<number>>>();
assertType<Equal<typeof Service.version, () => Promise<string>>>();
assertType<Equal<typeof Service.sum, (...values: number[]) => Promise<number>>>();
assertType<Equal<ThisTyped['run'], (this: ThisTyped, k: number) => Promise<number>>>();
// The options form returns the decorator.
assertType<Equal<ReturnType<typeof decoratorWithOptions>, RunInProcessDecorator>>();
function decoratorWithOptions() {
  return runInProcess({ timeout: 1 });
}
const decorator: RunInProcessDecorator = runInProcess();
void decorator;

export async function use(service: Service): Promise<void> {
  const sum: number = await service.add(2);
  const described = await service.describe('x', { verbose: true });
  const version: string = await Service.version();
  const total: number = await Service.sum(1, 2, 3);
  void [sum, described.label, described.verbose, version, total];

  // @ts-expect-error: the decorated method keeps its parameter types
  void service.add('2');
  // @ts-expect-error: and its parameter count
  void service.add();
  // @ts-expect-error: and its return type
  const wrong: Promise<string> = service.add(2);
  // @ts-expect-error: a static method stays static
  void service.version();
  void wrong;
}

export class SyncMethod {
  // @ts-expect-error: an offloaded method must return a Promise
  @runInProcess
  count(): number {
    return 1;
  }
}

export class SyncMethodWithOptions {
  // @ts-expect-error: also with options
  @runInProcess({ timeout: 5 })
  count(): number {
    return 1;
  }
}

export class SyncStaticMethod {
  // @ts-expect-error: also a static method
  @runInProcess
  static count(): number {
    return 1;
  }
}

export class WithGetter {
  // @ts-expect-error: a getter cannot be offloaded
  @runInProcess
  get value(): Promise<number> {
    return Promise.resolve(1);
  }
}

export class WithSetter {
  // @ts-expect-error: nor a setter
  @runInProcess
  set value(_: Promise<number>) {}
}

export class WithField {
  // @ts-expect-error: nor a field
  @runInProcess
  value: Promise<number> = Promise.resolve(1);
}

export class WithFunctionField {
  // @ts-expect-error: nor a field that holds an async function
  @runInProcess
  run = async (): Promise<number> => 1;
}

export class WithAccessor {
  // @ts-expect-error: nor an auto-accessor
  @runInProcess
  accessor value: Promise<number> = Promise.resolve(1);
}

export class UnknownOption {
  // @ts-expect-error: an unknown option key
  @runInProcess({ timout: 5 })
  async run(): Promise<number> {
    return 1;
  }
}

export class WrongOptionType {
  // @ts-expect-error: timeout is a number of milliseconds
  @runInProcess({ timeout: '5s' })
  async run(): Promise<number> {
    return 1;
  }
}

// @ts-expect-error: an unknown option key on a class
@runInProcess({ timout: 5 })
export class UnknownClassOption {
  @runInProcess
  async run(): Promise<number> {
    return 1;
  }
}

// @ts-expect-error: a class takes the options form only; bare, there is nothing for it to set
@runInProcess
export class BareClass {
  @runInProcess
  async run(): Promise<number> {
    return 1;
  }
}

// `name` is a wrapper's option: on a decorator it is refused at run time, and so here.
const sharedWithName: { timeout: number; name: string } = { timeout: 1, name: 'shared' };
export class NamedMethod {
  // @ts-expect-error: a method is known by its own name
  @runInProcess({ ...sharedWithName })
  async run(): Promise<number> {
    return 1;
  }
}
