import type { ChildProcess } from 'node:child_process';

/**
 * A child can write any bytes on its IPC channel: its fd is its own. Node reads the channel and
 * deserializes each message inside the channel's read callback, where a message it cannot read (bytes
 * that are not a serialized value, or a value nested deeper than this process's stack) throws, and
 * the throw is an uncaught exception: it would end the parent, which no child may do. So each pool
 * child's channel reads through a guard that turns such a throw into `onUnreadable`, and the
 * transport stops the child as it stops one that sends a malformed notice.
 *
 * The read callback is Node's, not public API: the channel handle's `onread`, behind the ChildProcess's
 * `kChannelHandle` symbol (Node 14 to 26). Where it is not found the child is not guarded, as before.
 */
export function guardChannel(child: ChildProcess, onUnreadable: (error: unknown) => void): void {
  const handle = channelHandleOf(child);
  const read = handle?.onread;
  if (!handle || typeof read !== 'function') return;
  let failed = false;
  handle.onread = function guardedRead(this: unknown, ...args: unknown[]): unknown {
    // Once one message could not be read, nothing after it is trusted: the child is being stopped.
    // The end of the channel (no data) still goes through, for the ChildProcess's 'close'.
    if (failed && args[0] !== undefined) return undefined;
    try {
      return read.apply(this, args);
    } catch (error) {
      failed = true;
      onUnreadable(error);
      return undefined;
    }
  };
}

interface ChannelHandle {
  onread?: unknown;
}

function channelHandleOf(child: ChildProcess): ChannelHandle | undefined {
  const key = Object.getOwnPropertySymbols(child).find((symbol) => symbol.description === 'kChannelHandle');
  const handle = key === undefined ? undefined : (child as unknown as Record<symbol, unknown>)[key];
  return typeof handle === 'object' && handle !== null ? (handle as ChannelHandle) : undefined;
}
