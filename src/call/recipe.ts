import { bufferIndexes, decodeValue, encodeValues, isPrimitive, isSentAsIs, sentCopies } from '../codec/values.js';
import { RunInProcessError, SerializationError, usageError } from '../errors.js';
import { CallSlot, type CallTask, type Target } from '../protocol.js';
import {
  classOfConstructor,
  describeMethod,
  entriesIn,
  inheritsMethod,
  type ClassEntry,
  type FunctionEntry,
  type MethodEntry,
  type ModuleEntry,
  targetOf,
  targetOfFunction,
  targetOfMethod,
} from '../shared/registry.js';
import { warnOnce } from '../shared/warn-once.js';
import { isDenseList } from '../codec/dense-list.js';
import { messageOf } from '../codec/describe-thrown.js';

/**
 * The recipe of a call: which code (module URL, class position and method, or function id) and
 * with what (a snapshot of `this`, the arguments). Small, and enough for a fresh process to redo it.
 */

export interface Recipe {
  /** The call as it crosses; the scheduler gives it its id. */
  task: CallTask;
  target: Target;
  /** The module that declares the target, in this process. */
  module: ModuleEntry;
  /** The class whose defaults apply: the runtime class of `this` (or `this` itself, for statics). */
  runtimeClass: Function | undefined;
  /** For messages: `Hasher.digest`. */
  label: string;
  /** With `callbacks: true` and a function among the arguments: calls the function the child's stub stands for. */
  listener: ((position: number, args: Uint8Array) => unknown) | undefined;
}

export function functionRecipe(fn: FunctionEntry, args: unknown[], callbacks: boolean): Recipe {
  const { target, targetKey } = addressOf(fn, null) ?? remember(fn, null, targetOfFunction(fn), fn.id);
  const listener = callbacks ? listenerFor(args) : undefined;
  const task = callTask(targetKey, undefined, listener ? withoutFunctions(args) : args, fn.id);
  if (listener) task[CallSlot.callbacks] = listener.positions;
  return { task, target, module: fn.module, runtimeClass: undefined, label: fn.id, listener: listener?.call };
}

/** The class whose defaults apply to a call: the runtime class of `this`, or `this` itself for a static method. */
export function runtimeClassOf(method: MethodEntry, self: unknown): Function | undefined {
  return method.isStatic ? asFunction(self) : asFunction((self as object | null)?.constructor);
}

export function methodRecipe(method: MethodEntry, self: unknown, args: unknown[], callbacks: boolean): Recipe {
  const runtimeClass = runtimeClassOf(method, self);
  const declaring = method.owner;
  const nearest = runtimeClass && nearestKnownClass(runtimeClass);
  const listener = callbacks ? listenerFor(args) : undefined;
  const sent = listener ? withoutFunctions(args) : args;
  if (method.isStatic) {
    // Called on a subclass (`Users.count()` where Users extends Repo, which declares it): `this` is
    // that subclass in the child, as it is locally, so its static fields and overrides apply.
    const receiver = nearest && nearest !== declaring ? nearest : null;
    // A subclass of the declaring class has a known class on its chain: the declaring one, at least.
    if (runtimeClass && receiver === null && runtimeClass !== declaring.ctor && isSubclass(runtimeClass, declaring))
      warnUnknownSubclass(runtimeClass, declaring, 'static');
    const { target, targetKey, label } =
      addressOf(method, receiver) ??
      remember(method, receiver, targetOfMethod(method, receiver ?? undefined), describeMethod(method));
    const task = callTask(targetKey, undefined, sent, label);
    if (listener) task[CallSlot.callbacks] = listener.positions;
    return { task, target, module: declaring.module, runtimeClass, label, listener: listener?.call };
  }
  const instanceClass = nearest ?? declaring;
  // Called on something else (`[x].map(h.digest)` passes no instance at all, `.call(other)` another
  // object): the child would run it on a blank instance, or on one of another class, where the
  // local call would have thrown or read other fields. Under standard decorators the declaring
  // class is learned from an instance's class chain (nearestKnownClass), so one still unknown means
  // that `self` is none of its instances. The prototype chain, not `instanceof`, which a class may
  // redefine (Symbol.hasInstance).
  // A prototype's own `constructor` may be another function (assigned, or an ES5-style subclass):
  // the class is then learned from the prototypes themselves.
  if (declaring.ctor === undefined) learnFromPrototypes(self);
  const proto = declaring.ctor?.prototype as object | undefined;
  if (
    typeof self !== 'object' ||
    self === null ||
    ((proto === undefined || !Object.prototype.isPrototypeOf.call(proto, self)) &&
      // A class decorator may have put another class in the place of the one that declares it.
      !inheritsMethod(self, method))
  ) {
    throw notAnInstance(method, self);
  }
  if (runtimeClass && instanceClass.ctor !== runtimeClass) warnUnknownSubclass(runtimeClass, instanceClass);
  const { target, targetKey, label } =
    addressOf(method, instanceClass) ??
    remember(
      method,
      instanceClass,
      targetOfMethod(method, instanceClass === declaring ? undefined : instanceClass),
      describeMethod(method),
    );
  const task = callTask(targetKey, snapshotOf(self, label) ?? {}, sent, label);
  if (listener) task[CallSlot.callbacks] = listener.positions;
  return { task, target, module: declaring.module, runtimeClass, label, listener: listener?.call };
}

/**
 * `callbacks: true`: the functions among the top-level arguments, and what calls them when the
 * child's stubs do. Nested functions are not callbacks: they fail to serialize, as always.
 */
function listenerFor(
  args: unknown[],
): { positions: number[]; call: (position: number, args: Uint8Array) => unknown } | undefined {
  const functions = new Map<number, Function>();
  args.forEach((arg, position) => {
    if (typeof arg === 'function') functions.set(position, arg);
  });
  if (functions.size === 0) return undefined;
  return {
    positions: [...functions.keys()],
    call: (position, bytes) => {
      const values = decodeValue(bytes, `args[${position}](…)`);
      // The child's stub always sends its arguments as a list: anything else was forged there, and
      // must not pass for the callback's own throw (the call fails with this, and its child is stopped).
      // Nor a list with holes, or longer than a call takes (V8 spreads up to about 65,000 arguments),
      // whose spread would cost its claimed length (2 ** 32 - 1: all of this process's memory).
      if (!isDenseList(values) || values.length > 65_535) {
        throw new RunInProcessError(
          `The child sent something other than a list of arguments for the callback at args[${position}]: code ` +
            `running in the child forged the message. The callback was not called.`,
        );
      }
      return functions.get(position)?.(...values);
    },
  };
}

function withoutFunctions(args: unknown[]): unknown[] {
  return args.map((arg) => (typeof arg === 'function' ? undefined : arg));
}

/**
 * Targets with their keys and labels, per method (or function) and the class `this` is rebuilt
 * as: a call then builds none of them. Only complete targets are kept: under standard decorators a class may have
 * no known constructor, and so no name to check in the child, until its first instance is seen.
 */
interface Address {
  target: Target;
  targetKey: string;
  /** For messages: `Hasher.digest`, `parseUntrusted`. */
  label: string;
}
const addresses = new WeakMap<MethodEntry | FunctionEntry, Map<ClassEntry | null, Address>>();

function addressOf(entry: MethodEntry | FunctionEntry, instanceClass: ClassEntry | null): Address | undefined {
  return addresses.get(entry)?.get(instanceClass);
}

function remember(
  entry: MethodEntry | FunctionEntry,
  instanceClass: ClassEntry | null,
  target: Target,
  label: string,
): Address {
  const address = { target, targetKey: JSON.stringify(target), label };
  const complete = target.kind === 'function' || (target.className !== '' && target.instanceClass?.className !== '');
  if (complete) {
    let byClass = addresses.get(entry);
    if (!byClass) addresses.set(entry, (byClass = new Map()));
    byClass.set(instanceClass, address);
  }
  return address;
}

/**
 * Builds the addresses of a module's targets ahead of their first call, as a warm-up does for the
 * modules it preloads: a first call then finds its target, key and label made (~40 µs saved on a
 * first call here). `this` rebuilt as the declaring class, the usual case; a subclass's comes later.
 */
export function prepareAddresses(module: ModuleEntry): void {
  for (const entry of entriesIn(module)) {
    const method = 'owner' in entry;
    const instanceClass = method && !entry.isStatic ? entry.owner : null;
    addressOf(entry, instanceClass) ??
      remember(entry, instanceClass, targetOf(entry), method ? describeMethod(entry) : entry.id);
  }
}

/** The call's wire form: `this` and the arguments serialized, or the arguments as they are (protocol.ts). */
function callTask(
  targetKey: string,
  snapshot: Record<string, unknown> | undefined,
  args: unknown[],
  label: string,
): CallTask {
  if (args.every(isSentAsIs)) {
    if (snapshot === undefined) return ['call', targetKey, 0, sentCopies(args), bufferIndexes(args), false];
    if (fieldsArePrimitive(snapshot)) {
      const task: CallTask = ['call', targetKey, 0, sentCopies(args), bufferIndexes(args), false];
      task[CallSlot.self] = snapshot;
      return task;
    }
  }
  const roots = snapshot === undefined ? { args } : { this: snapshot, args };
  return ['call', targetKey, 0, encodeValues(roots, `to the process that runs ${label}()`), undefined, false];
}

/** Every field a primitive (on the call path: no array made to find out). */
function fieldsArePrimitive(snapshot: Record<string, unknown>): boolean {
  for (const key in snapshot) if (Object.hasOwn(snapshot, key) && !isPrimitive(snapshot[key])) return false;
  return true;
}

/**
 * `this` travels as its own enumerable data; the child rebuilds it on the class's prototype
 * without running the constructor. Private `#fields` and accessors do not travel.
 */
function snapshotOf(self: unknown, label: string): Record<string, unknown> | undefined {
  if (typeof self !== 'object' || self === null) return undefined;
  const builtIn = builtInKind(self);
  if (builtIn !== undefined) {
    throw new SerializationError(
      `Cannot send this to the process that runs ${label}(): it is ${builtIn}, whose contents are not fields of ` +
        `its own: the child would rebuild it empty. Make the method static and pass the contents as an argument, ` +
        `or keep them in a field of a class that does not extend a built-in collection.`,
      'this',
    );
  }
  const snapshot: Record<string, unknown> = {};
  let key = '';
  try {
    for (key of Object.keys(self)) {
      const value = (self as Record<string, unknown>)[key];
      // A field that holds the instance itself holds the snapshot, which the child rebuilds as `this`.
      snapshot[key] = value === self ? snapshot : value;
    }
  } catch (error) {
    // A getter that throws, or a Proxy whose traps do: the path says where.
    const path = key === '' ? 'this' : `this.${key}`;
    const why = messageOf(error);
    throw new SerializationError(
      `Cannot send ${path} to the process that runs ${label}(): reading it threw: ${why}.`,
      path,
      { cause: error },
    );
  }
  return snapshot;
}

/**
 * A `this` whose class extends a built-in whose contents live in internal slots (a Map's entries,
 * an array's length) rather than in own enumerable fields, which are all the snapshot carries.
 */
function builtInKind(self: object): string | undefined {
  if (Array.isArray(self)) return 'an array (its class extends Array)';
  for (const kind of builtIns) if (self instanceof kind) return `an instance of a subclass of ${kind.name}`;
  if (ArrayBuffer.isView(self)) return 'a typed array or DataView';
  return undefined;
}

const builtIns = [Map, Set, WeakMap, WeakSet, Date, RegExp, Promise, ArrayBuffer];

function notAnInstance(method: MethodEntry, self: unknown): TypeError {
  const className = method.owner.ctor?.name;
  const label = className ? describeMethod(method) : method.name;
  const got =
    self === null || self === undefined
      ? String(self)
      : typeof self !== 'object'
        ? `a ${typeof self}`
        : Object.hasOwn(self, 'constructor') && typeof (self as object).constructor === 'function'
          ? `${(self as object).constructor.name || 'a class'}.prototype`
          : `an object of class ${(self as object).constructor?.name || 'Object'}`;
  return usageError(
    `${label}() was called on ${got}, not on ${className ? `${/^[aeiou]/i.test(className) ? 'an' : 'a'} ${className}` : 'an instance of its class'}: an offloaded method runs on a snapshot of the ` +
      `instance it is called on. Call it on the instance, or pass it bound (instance.method.bind(instance)) ` +
      `where it is called later, as in [x].map(…).`,
  );
}

function warnUnknownSubclass(
  runtimeClass: Function,
  rebuiltAs: ClassEntry,
  kind: 'instance' | 'static' = 'instance',
): void {
  const ancestor = rebuiltAs.ctor?.name ?? 'class';
  // A class decorator may put an anonymous class in the place of the one it decorates.
  const name = runtimeClass.name;
  // Named by the class it extends: the one the app wrote, which a class decorator replaced.
  const subject =
    name || `An anonymous subclass of ${(Object.getPrototypeOf(runtimeClass) as Function | null)?.name || ancestor}`;
  const its = name ? `${name}'s` : 'its';
  const what =
    kind === 'static'
      ? `the child runs its static methods with \`this\` as its ancestor ${ancestor}, and ${its} static fields and ` +
        `overrides do not apply there`
      : `the child rebuilds \`this\` as its ancestor ${ancestor} and ${its} overrides do not apply there`;
  const fix = name
    ? `Put @runInProcess() on class ${name}`
    : 'Put @runInProcess() above the decorator that makes it (class decorators apply from the bottom up)';
  warnOnce(
    'RUN_IN_PROCESS_UNKNOWN_SUBCLASS',
    runtimeClass,
    () => `${subject} is not known to run-in-process, so ${what}. ${fix} so that the child can find it.`,
  );
}

function isSubclass(candidate: Function, of: ClassEntry): boolean {
  return of.ctor !== undefined && Object.prototype.isPrototypeOf.call(of.ctor, candidate);
}

/**
 * The nearest class on a prototype chain that the child can find again. Walking the whole chain
 * also links every registered class on it to its constructor.
 */
const nearestByClass = new WeakMap<Function, ClassEntry | null>();

function nearestKnownClass(runtimeClass: Function): ClassEntry | undefined {
  const known = nearestByClass.get(runtimeClass);
  if (known !== undefined) return known ?? undefined;
  let nearest: ClassEntry | undefined;
  for (
    let ctor: unknown = runtimeClass;
    typeof ctor === 'function' && ctor !== Function.prototype;
    ctor = Object.getPrototypeOf(ctor)
  ) {
    const entry = classOfConstructor(ctor);
    nearest ??= entry;
  }
  // Every class on a chain is defined, and so registered, before its first instance makes a call.
  nearestByClass.set(runtimeClass, nearest ?? null);
  return nearest;
}

/** Links each registered class whose prototype is on `self`'s prototype chain to its constructor. */
function learnFromPrototypes(self: unknown): void {
  if (typeof self !== 'object' || self === null) return;
  for (let proto = Object.getPrototypeOf(self); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const ctor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
    if (typeof ctor === 'function' && ctor.prototype === proto) classOfConstructor(ctor);
  }
}

function asFunction(value: unknown): Function | undefined {
  return typeof value === 'function' ? value : undefined;
}
