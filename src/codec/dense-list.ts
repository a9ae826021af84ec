/**
 * Whether `value` is an array with no holes, as every list a process builds and V8 writes is. One
 * read from another process may claim any length (2 ** 32 - 1 with no element: 30 bytes on the
 * wire), and walking it (`every`, `map`, a spread) would cost that length: minutes of the parent's
 * event loop, or all its memory. Such a list is refused, in time proportional to what it holds.
 */
export function isDenseList(value: unknown): value is unknown[] {
  if (!Array.isArray(value)) return false;
  // A short one costs nothing to walk, holes or not; a long one is counted by what it holds.
  return value.length <= 1_024 || Object.keys(value).length === value.length;
}
