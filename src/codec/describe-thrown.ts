/**
 * A thrown value as text, for a message. Whatever it is, this does not throw: a value's `toString`,
 * an error's `message` or `name` may be anything (an object whose `toString` is not a function cannot
 * be converted at all), and a failure to describe an error must not become a second error, let alone
 * an uncaught one in the parent.
 */
export function messageOf(thrown: unknown): string {
  return printable(() => (thrown instanceof Error ? String(thrown.message) : String(thrown)), thrown);
}

/** `Name: message` for an error, the value as text otherwise. */
export function describeThrown(thrown: unknown): string {
  return printable(
    () => (thrown instanceof Error ? `${String(thrown.name)}: ${String(thrown.message)}` : String(thrown)),
    thrown,
  );
}

function printable(text: () => string, thrown: unknown): string {
  try {
    return text();
  } catch {
    try {
      return `${Object.prototype.toString.call(thrown)} (which cannot be converted to text)`;
    } catch {
      return 'a value that cannot be converted to text';
    }
  }
}
