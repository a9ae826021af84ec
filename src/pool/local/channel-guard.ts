import type { ChildProcess } from 'node:child_process';
import { messageOf } from '../../codec/describe-thrown.js';
import { nextTick } from '../../shared/real-clock.js';

/**
 * A child can write any bytes on its IPC channel: its fd is its own. Node reads the channel and
 * deserializes each message inside the channel's read callback, then hands it to the 'message'
 * listeners (tinypool's, then ours) a tick later. A throw in either place is an uncaught exception
 * that would end the parent, which no child may do: a message Node cannot read (bytes that are not
 * a serialized value, or a value nested deeper than this process's stack), or one that a listener
 * cannot handle (tinypool clones a message marked as its port's again, and V8 clones less deeply
 * than it reads). So both go through a guard that turns such a throw into `onMisbehaved`, and the
 * transport stops the child as it stops one that sends a malformed notice.
 *
 * The read callback is Node's, not public API: the channel handle's `onread`, behind the ChildProcess's
 * `kChannelHandle` symbol (Node 14 to 26). Where it is not found, reading is not guarded, as before.
 */
export function guardChannel(
  child: ChildProcess,
  onMisbehaved: (why: string) => void,
  /** Why a message read is forged (one in the pool's format that the pool never asked for); it then reaches no listener. */
  forged: (message: unknown) => string | undefined = () => undefined,
): void {
  // Once one message failed, nothing after it is trusted: the child is being stopped.
  let failed = false;
  /** Handles that reached Node's own NODE_HANDLE message (whose end is the child tracker's). */
  const delivered = new WeakSet<object>();
  const fail = (what: string, error: unknown) => {
    failed = true;
    onMisbehaved(`${what} (${messageOf(error)})`);
  };
  const handle = channelHandleOf(child);
  const read = handle?.onread;
  if (handle && typeof read === 'function') {
    handle.onread = function guardedRead(this: unknown, ...args: unknown[]): unknown {
      // The end of the channel (no data) still goes through, for the ChildProcess's 'close'.
      if (failed && args[0] !== undefined) {
        // Dropped unread: a handle that came with the bytes (Node holds it until its own read takes
        // it) is open in this process, and closed here, or each one would stay open for good.
        const pending = handle.pendingHandle;
        if (pending) {
          handle.pendingHandle = null;
          closeHandle(pending);
        }
        return undefined;
      }
      // A handle that came with these bytes: Node hands it on only with a NODE_HANDLE message among
      // them, and otherwise drops it open (it came with another message, or bytes it cannot parse).
      const pending = handle.pendingHandle;
      try {
        return read.apply(this, args);
      } catch (error) {
        fail('sent a message that the parent could not read', error);
        return undefined;
      } finally {
        // Node emits what it read on the next tick: checked after that.
        if (typeof pending === 'object' && pending !== null) {
          nextTick(() => {
            if (!delivered.has(pending)) closeHandle(pending);
          });
        }
      }
    };
  }
  const emit = child.emit as (this: ChildProcess, event: string | symbol, ...args: unknown[]) => boolean;
  child.emit = function guardedEmit(this: ChildProcess, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'internalMessage') {
      // Node's own messages (a `cmd` that starts with NODE_) pass handles, which neither tinypool nor
      // the library does. A handle sent (NODE_HANDLE) is Node's to take: it comes out as a 'message'
      // with a socket or a server, which the child tracker closes, stopping the child. Any other,
      // Node's handler asserts on (an ACK for a handle never sent): an uncaught exception that ended
      // the parent. None of those reaches it.
      const cmd = (args[0] as { cmd?: unknown } | null)?.cmd;
      if (cmd === 'NODE_HANDLE' && typeof args[1] === 'object' && args[1] !== null) delivered.add(args[1]);
      if (cmd === 'NODE_HANDLE' && !failed) {
        try {
          return emit.call(this, event, ...args);
        } catch (error) {
          // Node had opened it before it found it could not convert it (a type it does not know).
          closeHandle(args[1]);
          fail('sent a handle the parent could not take', error);
          return true;
        }
      }
      // A handle it came with (NODE_HANDLE after a failure) is open in this process: closed, or it
      // would keep the parent alive after shutdown() (a server listening for the child, say).
      closeHandle(args[1]);
      if (!failed) {
        failed = true;
        onMisbehaved(
          `sent one of Node's internal messages (${String(cmd).slice(0, 40)}), which the parent never asks for`,
        );
      }
      return true;
    }
    if (event !== 'message') return emit.call(this, event, ...args);
    // A message dropped here reaches no listener, the child tracker's that closes a handle sent with
    // one included: closed here, as it would be there.
    if (failed) {
      closeHandle(args[1]);
      return false;
    }
    const why = forged(args[0]);
    if (why !== undefined) {
      closeHandle(args[1]);
      failed = true;
      onMisbehaved(why);
      return true;
    }
    try {
      return emit.call(this, event, ...args);
    } catch (error) {
      fail('sent a message that the parent could not handle', error);
      return true;
    }
  } as typeof child.emit;
}

/** A socket, a server or a raw handle that came with a message, closed: no child's handle stays open here. */
export function closeHandle(handle: unknown): void {
  const closable = handle as { destroy?: () => void; close?: () => void } | null;
  try {
    if (typeof closable?.destroy === 'function') closable.destroy();
    else closable?.close?.();
  } catch {
    // Already closed.
  }
}

interface ChannelHandle {
  onread?: unknown;
  /** A handle received with the bytes being read, which Node's own read callback takes. */
  pendingHandle?: unknown;
}

function channelHandleOf(child: ChildProcess): ChannelHandle | undefined {
  const key = Object.getOwnPropertySymbols(child).find((symbol) => symbol.description === 'kChannelHandle');
  const handle = key === undefined ? undefined : (child as unknown as Record<symbol, unknown>)[key];
  return typeof handle === 'object' && handle !== null ? (handle as ChannelHandle) : undefined;
}
