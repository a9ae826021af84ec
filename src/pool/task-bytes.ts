import { bufferOf, byteLengthOf } from '../codec/views.js';
import { CallSlot, type CallTask } from '../protocol.js';

/**
 * About how many bytes a call takes to send: exact for serialized input and typed arrays, a
 * string's length, 8 for another primitive; `this` sent as it is counts too. For sizing batches
 * (backlog.ts) and for sending large calls apart from tinypool's task (local/deferred-calls.ts).
 */
export function taskBytes(task: CallTask): number {
  const input = task[CallSlot.input];
  let bytes = Array.isArray(input) ? valuesBytes(input) : input.byteLength;
  const self = task[CallSlot.self];
  if (self) bytes += valuesBytes(Object.values(self));
  return bytes;
}

function valuesBytes(values: readonly unknown[]): number {
  let bytes = 0;
  for (const value of values) {
    // A view is read with care: its buffer may have been detached since the call was made, and its own
    // accessors are not the ones structured clone reads (views.ts).
    bytes += ArrayBuffer.isView(value)
      ? bufferOf(value).byteLength === 0
        ? 0
        : byteLengthOf(value)
      : typeof value === 'string'
        ? value.length
        : 8;
  }
  return bytes;
}
