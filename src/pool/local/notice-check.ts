import {
  isChildNotice,
  NoticeSlot,
  type Answer,
  type ChildNotice,
  type Emission,
  type EncodedThrown,
  isThrownStage,
  type Value,
} from '../../protocol.js';
import { isDenseList } from '../../codec/dense-list.js';

/**
 * A child is isolated for crashes and is not trusted with the parent's integrity: what it sends is
 * checked for shape before anything reads it. A message that is not a well-formed notice is not
 * treated as one (tinypool's own messages pass by here too).
 */
export function validNotice(message: unknown): message is ChildNotice {
  if (!isChildNotice(message)) return false;
  switch (message[0]) {
    case 'run-in-process:opened':
      return message.length === 2 && isId(message[NoticeSlot.batch]);
    case 'run-in-process:started':
    case 'run-in-process:importing':
    case 'run-in-process:imported':
      return message.length === 3 && isId(message[NoticeSlot.batch]) && isId(message[NoticeSlot.call]);
    case 'run-in-process:ran':
      return (
        message.length === 5 &&
        isId(message[NoticeSlot.batch]) &&
        isId(message[NoticeSlot.call]) &&
        Number.isFinite(message[NoticeSlot.startedAt]) &&
        Number.isFinite(message[NoticeSlot.endedAt])
      );
    case 'run-in-process:answer':
      return (
        message.length === 4 &&
        isId(message[NoticeSlot.batch]) &&
        isId(message[NoticeSlot.call]) &&
        validAnswer(message[NoticeSlot.answer])
      );
    case 'run-in-process:emit':
      return (
        message.length === 4 &&
        isId(message[NoticeSlot.batch]) &&
        isId(message[NoticeSlot.call]) &&
        validEmission(message[NoticeSlot.emission])
      );
    case 'run-in-process:ended':
      return message.length === 3 && isId(message[NoticeSlot.batch]) && typeof message[NoticeSlot.slow] === 'boolean';
    case 'run-in-process:retiring':
    case 'run-in-process:control-on-ipc':
    case 'run-in-process:leaving':
      return message.length === 1;
    case 'run-in-process:fatal': {
      const running: unknown = message[NoticeSlot.running];
      return (
        message.length === 3 &&
        validThrown(message[NoticeSlot.thrown]) &&
        (running === null || (isDenseList(running) && running.every(isId)))
      );
    }
    case 'run-in-process:preload-failed':
      return (
        message.length === 3 &&
        typeof message[NoticeSlot.module] === 'string' &&
        validThrown(message[NoticeSlot.preloadThrown])
      );
  }
}

function isId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function validEmission(emission: unknown): emission is Emission {
  if (!Array.isArray(emission)) return false;
  if (emission[0] === 'items')
    return emission.length === 2 && isDenseList(emission[1]) && emission[1].every(validValue);
  return (
    emission[0] === 'callback' &&
    emission.length === 3 &&
    Number.isSafeInteger(emission[1]) &&
    emission[1] >= 0 &&
    emission[2] instanceof Uint8Array
  );
}

function validValue(value: unknown): value is Value {
  if (!Array.isArray(value)) return false;
  if (value[0] === 'value') return value.length === 2 && value[1] instanceof Uint8Array;
  // One said to be a Buffer must be bytes: it is re-wrapped as a Buffer without a copy.
  return (
    value[0] === 'as-is' &&
    value.length === 3 &&
    (value[2] === false || (value[2] === true && value[1] instanceof Uint8Array))
  );
}

function validAnswer(answer: unknown): answer is Answer {
  if (!Array.isArray(answer)) return false;
  if (validValue(answer)) return true;
  if (answer[0] === 'thrown') return answer.length === 3 && validThrown(answer[1]) && isThrownStage(answer[2]);
  return false;
}

function validThrown(thrown: unknown): thrown is EncodedThrown {
  if (!Array.isArray(thrown)) return false;
  if (thrown[0] === 'value') return thrown.length === 2 && thrown[1] instanceof Uint8Array;
  return (
    thrown[0] === 'error' &&
    thrown.length === 3 &&
    thrown[1] instanceof Uint8Array &&
    isDenseList(thrown[2]) &&
    thrown[2].every(
      (node: unknown) =>
        typeof node === 'object' &&
        node !== null &&
        isDenseList((node as { path?: unknown }).path) &&
        typeof (node as { className?: unknown }).className === 'string',
    )
  );
}
