import { serialize } from 'node:v8';
import { encodeThrown } from '../codec/thrown-encode.js';
import type { ExportNameOf } from '../codec/thrown-shape.js';
import { encodeValue, isSentAsIs } from '../codec/values.js';
import type { Answer, Value } from '../protocol.js';

/** A value as it crosses back: as it is when it can, otherwise serialized (throws SerializationError at `root`). */
export function encodedValue(value: unknown, root: string): Value {
  if (isSentAsIs(value)) return ['as-is', value, Buffer.isBuffer(value)];
  return ['value', encodeValue(value, root, 'back to the parent process')];
}

export function answerWith(result: unknown): Answer {
  try {
    return encodedValue(result, 'result');
  } catch (error) {
    return thrownAnswer(error, 'call');
  }
}

/**
 * The answer for a throw. It never throws itself: an answer that failed would fail the task, and
 * with it the calls of its batch that have yet to run. encodeThrown sends what it can of any error.
 */
export function thrownAnswer(error: unknown, stage: 'call' | 'load', exportNameOf?: ExportNameOf): Answer {
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
