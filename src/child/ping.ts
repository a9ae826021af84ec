import { encodeValues } from '../codec/values.js';
import { type CallTask, CallSlot, type FunctionTarget, type MethodTarget } from '../protocol.js';
import { addFunction, addMethod, classEntry, declaredHere } from '../shared/registry.js';

/**
 * The no-op calls that warm a pool's call path before its first real call: one of each kind a
 * user's call takes (a function, a static method, a method with `this` and a value both ways). A
 * child runs them in its warm-up (warm-up.ts); the parent's scheduler sends them through its own
 * side of the path (pool/scheduler.ts). Their targets are registered here, under this module's URL,
 * in every process that loads it, so a child finds them as it finds a user's. They are no one's
 * calls: the call runner neither traces them nor counts them towards a call limit, and `stats()`
 * does not count them.
 */

const module = import.meta.url;
const echo = (value: unknown) => value;
// Declared again when jest evaluates the library again (declaredHere).
const entry = declaredHere(module);
addFunction({ module: entry, id: 'ping', impl: echo, options: {}, streams: false, stub: false });
class WarmUpPing {}
const owner = classEntry(entry, WarmUpPing);
addMethod({ owner, name: 'ping', isStatic: true, impl: echo, options: {}, streams: false });
addMethod({ owner, name: 'ping', isStatic: false, impl: echo, options: {}, streams: false });

const method = (isStatic: boolean): string =>
  JSON.stringify({
    kind: 'method',
    module,
    classIndex: owner.index,
    className: WarmUpPing.name,
    method: 'ping',
    isStatic,
  } satisfies MethodTarget);
const functionKey = JSON.stringify({ kind: 'function', module, id: 'ping' } satisfies FunctionTarget);
const staticKey = method(true);
const instanceKey = method(false);
const keys = new Set([functionKey, staticKey, instanceKey]);

/** Fresh tasks each time: the scheduler writes each call's id into its task. */
export function pingCalls(): CallTask[] {
  const input = encodeValues({ this: { warm: true }, args: [{ warm: true }] }, 'a warm-up ping');
  return [
    ['call', functionKey, 0, [0], undefined, false],
    ['call', staticKey, 0, [0], undefined, false],
    ['call', instanceKey, 0, input, undefined, false],
  ];
}

export function isPing(task: CallTask): boolean {
  return keys.has(task[CallSlot.target]);
}
