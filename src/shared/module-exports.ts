/**
 * A module's exports as the code that imported it sees them. A CommonJS module imported as ESM
 * keeps its exports on `default` too, so every lookup tries the namespace first, then `default`.
 *
 * Only values held as data are read: a getter on `default` (a CommonJS module's lazy export that
 * requires an optional native addon, say) is user code, which looking up the name of an error's
 * class must not run; one that threw lost every other name, and the module's own exported error
 * class came back as a built-in one (a review's). An export still in its temporal dead zone, which
 * throws as it is read, is passed over alone.
 */
export function* exportedValues(namespace: object | undefined): Iterable<[name: string, value: unknown]> {
  if (!namespace) return;
  yield* dataValues(namespace);
  const fallback = dataValue(namespace, 'default');
  if ((typeof fallback === 'object' || typeof fallback === 'function') && fallback !== null) {
    yield* dataValues(fallback);
  }
}

/** The export of that name, the namespace's own first. */
export function exportNamed(namespace: object | undefined, name: string): unknown {
  for (const [exported, value] of exportedValues(namespace)) if (exported === name) return value;
  return undefined;
}

function* dataValues(object: object): Iterable<[name: string, value: unknown]> {
  let keys: string[];
  try {
    keys = Object.keys(object);
  } catch {
    return;
  }
  for (const key of keys) {
    const value = dataValue(object, key);
    if (value !== noData) yield [key, value];
  }
}

const noData = Symbol('no data');

function dataValue(object: object, key: string): unknown {
  try {
    const descriptor = Reflect.getOwnPropertyDescriptor(object, key);
    return descriptor && 'value' in descriptor ? descriptor.value : noData;
  } catch {
    return noData;
  }
}
