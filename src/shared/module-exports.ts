/**
 * A module's exports as the code that imported it sees them. A CommonJS module imported as ESM
 * keeps its exports on `default` too, so every lookup tries the namespace first, then `default`.
 */
export function* exportedValues(namespace: object | undefined): Iterable<[name: string, value: unknown]> {
  if (!namespace) return;
  yield* Object.entries(namespace);
  const fallback = (namespace as { default?: unknown }).default;
  if ((typeof fallback === 'object' || typeof fallback === 'function') && fallback !== null) {
    yield* Object.entries(fallback);
  }
}

/** The export of that name, the namespace's own first. */
export function exportNamed(namespace: object | undefined, name: string): unknown {
  for (const [exported, value] of exportedValues(namespace)) if (exported === name) return value;
  return undefined;
}
