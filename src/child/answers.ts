import { serialize } from 'node:v8';
import { encodeThrown } from '../codec/thrown-encode.js';
import type { ExportNameOf } from '../codec/thrown-shape.js';
import { plainCopy } from '../codec/plain-copy.js';
import { encodeValue, isPrimitive, isSentAsIs } from '../codec/values.js';
import type { Answer, ThrownStage, Value } from '../protocol.js';

/** A value as it crosses back: as it is when it can, otherwise serialized (throws SerializationError at `root`). */
function encodedValue(value: unknown, root: string): Value {
  if (isSentAsIs(value)) return ['as-is', value, Buffer.isBuffer(value)];
  return ['value', encodeValue(value, root, 'back to the parent process')];
}

/**
 * A stream's item, taken when it is yielded: it is sent a little later, with the items yielded
 * beside it, and the generator may change it meanwhile. A primitive goes as it is; small plain data
 * is copied (plain-copy.ts) and cloned once by IPC with the message; a Buffer or Uint8Array is
 * copied; anything else is serialized now (throws SerializationError at `root`).
 */
export function encodedItem(value: unknown, root: string): Value {
  if (isPrimitive(value)) return ['as-is', value, false];
  if (isSentAsIs(value)) {
    if (Buffer.isBuffer(value)) return ['as-is', Buffer.from(value), true];
    if (Object.getPrototypeOf(value) === Uint8Array.prototype) return ['as-is', (value as Uint8Array).slice(), false];
  } else if (typeof value === 'object') {
    const copy = plainCopy(value as object);
    if (copy !== undefined) return ['as-is', copy, false];
  }
  return ['value', encodeValue(value, root, 'back to the parent process')];
}

export function answerWith(result: unknown): Answer {
  try {
    return encodedValue(result, 'result');
  } catch (error) {
    return thrownAnswer(isAsyncIterator(result) ? notDeclaredAsStream(error) : error, 'send');
  }
}

/** An async generator (or any async iterator) returned by a function that is not `async *` itself. */
function isAsyncIterator(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function' &&
    typeof (value as { next?: unknown }).next === 'function'
  );
}

/**
 * Whether a target streams is decided when it is defined, from the function itself: one that returns
 * another's async generator is called as an async function, and its result, a generator, cannot cross.
 */
function notDeclaredAsStream(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  error.message +=
    ' It is an async generator, returned by a function that is not one itself: whether a call streams is ' +
    'decided from the function, so declare it `async *` (an `async function*`, yielding from the other with ' +
    '`yield*`) for its items to stream.';
  return error;
}

/**
 * The answer for a throw. It never throws itself: an answer that failed would fail the task, and
 * with it the calls of its batch that have yet to run. encodeThrown sends what it can of any error.
 */
export function thrownAnswer(error: unknown, stage: ThrownStage, exportNameOf?: ExportNameOf): Answer {
  try {
    return ['thrown', encodeThrown(error, exportNameOf), stage];
  } catch {
    return [
      'thrown',
      ['value', serialize('The call threw a value that could not be sent to the parent process.')],
      stage,
    ];
  }
}
