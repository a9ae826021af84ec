/**
 * Standard decorators share a per-class metadata object only where `Symbol.metadata` exists, and
 * that object is how we group a class's methods before its constructor exists. Node 20–24 do not
 * define it yet; this is the same fallback esbuild uses, so TypeScript and esbuild output agree.
 */
(Symbol as { metadata?: symbol }).metadata ??= Symbol.for('Symbol.metadata');
