/**
 * Everything that crosses between the parent and a child, in one place.
 *
 * Payloads travel pre-serialized (`v8.serialize`) as bytes: tinypool relays each message through a
 * MessagePort, whose structured clone would turn a Buffer into a Uint8Array and lose nothing else,
 * but serializing ourselves also lets us name the exact path of a value that cannot cross
 * before anything is sent.
 */

/** Which code to run: a method of a decorated class, or a wrapped function. */
export type Target = MethodTarget | FunctionTarget;

export interface MethodTarget {
  kind: 'method';
  /** The `file:` URL the child imports. */
  module: string;
  /** The class's position among the classes this module registers, in declaration order. */
  classIndex: number;
  /** The class's name, checked in the child so that a mismatch fails loudly. */
  className: string;
  method: string;
  isStatic: boolean;
  /** The class to rebuild `this` as, when it is a registered subclass of the declaring class. */
  instanceClass?: { module: string; classIndex: number; className: string };
}

export interface FunctionTarget {
  kind: 'function';
  module: string;
  id: string;
}

/**
 * A call as it crosses: a tuple whose target is one string. tinypool copies every task three
 * times on its way (a MessagePort clone, the IPC serialization, the child's parse), and a nested
 * object with a dozen keys cost a tiny call more there than all the rest this library does
 * (1.16× raw tinypool, against 1.05× for this shape; bench/analysis.md).
 */
export type CallTask = [
  kind: 'call',
  /** `JSON.stringify(target)`, built once per target in the parent and parsed once per child. */
  target: string,
  /** The parent's call number, which names the call in its start notice and its batched reply. */
  id: number,
  /**
   * `v8.serialize({ this, args })`: the snapshot of `this` and the arguments; or, when there is no
   * `this` and every argument is a primitive or a typed array, the arguments as they are (these need
   * no path diagnosis, and skipping a serialize/deserialize pair is most of a tiny call's cost).
   */
  input: Uint8Array | unknown[],
  /** Which of the as-is arguments were Buffers (structured clone delivers them as Uint8Arrays). */
  buffers: number[] | undefined,
  /** Ask the child to say when it starts, so that a timeout counts from then and not from the queue. */
  notifyStart: boolean,
];

/**
 * Calls sent together as one tinypool task (see backlog.ts and child-pool.ts). The child runs them
 * one after another and answers each the moment it finishes, outside tinypool's protocol (a
 * `reply` notice), so no result waits for the rest of the batch, and one that is sent survives a
 * crash of the child on the next call. A batch stays open after its last call until the parent
 * closes it, and while it is open the parent may add calls to it directly on the child's IPC
 * channel (a BatchMessage), skipping tinypool's relay.
 */
export type BatchTask = [kind: 'batch', batch: number, calls: CallTask[]];

/**
 * Sent by the parent on the child's IPC channel, outside tinypool's protocol: calls added to an
 * open batch, or the word that no more are coming and the child may close it.
 */
export type BatchMessage =
  | [kind: 'run-in-process:append', batch: number, calls: CallTask[]]
  | [kind: 'run-in-process:close', batch: number];

export function isBatchMessage(message: unknown): message is BatchMessage {
  return Array.isArray(message) && (message[0] === 'run-in-process:append' || message[0] === 'run-in-process:close');
}

/** Sent to make tinypool start a replacement child for calls it left queued (see child-pool.ts). */
export type WakeTask = [kind: 'wake'];

export type Task = CallTask | BatchTask | WakeTask;

/**
 * The child's answer. The child never lets a call's error escape to tinypool: a rejected tinypool
 * task therefore always means the child or the pool failed, never the user's code.
 */
export type Reply =
  | { kind: 'value'; value: Uint8Array; retiring?: number }
  /** A primitive or typed-array result, sent as it is; `buffer` when it was a Buffer. */
  | { kind: 'as-is'; value: unknown; buffer?: true; retiring?: number }
  | { kind: 'thrown'; thrown: EncodedThrown; stage: 'call' | 'load'; retiring?: number }
  /** The child had reached its call limit (`recycleAfterCalls`) and did not start this call. */
  | { kind: 'retired' }
  /**
   * A batch is closed. Every call the child ran was answered before this; calls that reached it
   * after it closed were not started. `slow`: it stopped early after a call that took longer than
   * batching is worth.
   */
  | { kind: 'batched'; slow?: true }
  | { kind: 'woken' };
// `retiring` carries the child's pid when this was its last call: the parent then replaces it.

/** A thrown value: either an error tree, or any other value, cloned as it is. */
export type EncodedThrown =
  | { kind: 'error'; shape: unknown; nodes: ErrorNode[] }
  | { kind: 'value'; value: Uint8Array };

/** One error in a thrown error's `cause` / `errors` tree: what serialize-error's JSON shape cannot say. */
export interface ErrorNode {
  /** Property path from the top error, e.g. `['cause', 'errors', 0]`. */
  path: Array<string | number>;
  /** `constructor.name` in the child. */
  className: string;
  /** The name under which the declaring module exports that class, if it does. */
  exportName?: string;
  /** Own fields whose values JSON would mangle (Date, BigInt, Buffer, Map…), `v8.serialize`d. */
  fields?: Uint8Array;
}

/** Messages a child sends outside tinypool's protocol, on the same IPC channel. */
export type ChildNotice =
  | { runInProcess: 'started'; id: number }
  /** The answer to one call of a batch. */
  | { runInProcess: 'reply'; id: number; reply: Reply }
  | { runInProcess: 'fatal'; thrown: EncodedThrown };

export function isChildNotice(message: unknown): message is ChildNotice {
  return typeof message === 'object' && message !== null && 'runInProcess' in message;
}
