/**
 * A module's exports as the code that imported it sees them. A CommonJS module imported as ESM
 * keeps its exports on `default` too, so every lookup tries the namespace first, then `default`:
 * its values held as data, then, last, those its getters give.
 *
 * Each is read alone: an export still in its temporal dead zone, or a getter that throws (a lazy
 * export of a CommonJS module that requires an optional native addon, say), is passed over, where
 * one such throw lost every name, and the module's own exported error class came back as a built-in
 * one (a review's). A getter on `default` is user code, which a lookup that stops at its match
 * (exportNamed) runs only when nothing before it matched, and the child's names of error classes
 * once for the module (child/call-runner.ts).
 * The namespace's own exports may be getters too: Vite's SSR modules, under vitest, hold each
 * export so.
 */
export function* exportedValues(namespace: object | undefined): Iterable<[name: string, value: unknown]> {
  if (!namespace) return;
  yield* ownValues(namespace, 'any');
  const fallback = readOwn(namespace, 'default', 'any');
  if ((typeof fallback === 'object' || typeof fallback === 'function') && fallback !== null) {
    yield* ownValues(fallback, 'data');
    yield* ownValues(fallback, 'getters');
  }
}

/** The export of that name, the namespace's own first. */
export function exportNamed(namespace: object | undefined, name: string): unknown {
  for (const [exported, value] of exportedValues(namespace)) if (exported === name) return value;
  return undefined;
}

type Held = 'any' | 'data' | 'getters';

function* ownValues(object: object, held: Held): Iterable<[name: string, value: unknown]> {
  let keys: string[];
  try {
    keys = Object.keys(object);
  } catch {
    return;
  }
  for (const key of keys) {
    const value = readOwn(object, key, held);
    if (value !== unread) yield [key, value];
  }
}

const unread = Symbol('unread');

function readOwn(object: object, key: string, held: Held): unknown {
  try {
    const descriptor = Reflect.getOwnPropertyDescriptor(object, key);
    if (!descriptor) return unread;
    if ('value' in descriptor) return held === 'getters' ? unread : descriptor.value;
    return held === 'data' || !descriptor.get ? unread : Reflect.apply(descriptor.get, object, []);
  } catch {
    return unread;
  }
}
