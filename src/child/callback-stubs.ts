import { serialize } from 'node:v8';
import { encodeValue } from '../codec/values.js';
import type { ChildNotice } from '../protocol.js';

/**
 * A method with `callbacks: true` gets, at each argument position that held a function in the
 * parent, a stub that sends its arguments to the parent, which calls the real function. The stub
 * returns undefined (nothing crosses back), and once the call has answered it does nothing: the
 * parent's function belongs to that call only.
 */
export function stubCallbacks(
  args: unknown[],
  positions: number[],
  batch: number,
  call: number,
  notify: (notice: ChildNotice) => void,
): () => void {
  let answered = false;
  for (const position of positions) {
    args[position] = function callbackStub(...values: unknown[]): undefined {
      if (answered) return undefined;
      const bytes =
        values.length === 0
          ? emptyArguments
          : encodeValue(values, `args[${position}](…)`, 'back to the parent process from a callback');
      notify(['run-in-process:emit', batch, call, ['callback', position, bytes]]);
      return undefined;
    };
  }
  return () => {
    answered = true;
  };
}

const emptyArguments = serialize([]);
