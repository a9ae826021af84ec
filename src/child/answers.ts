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
    return thrownAnswer(error, 'send');
  }
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
