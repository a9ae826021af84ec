/**
 * Everything that crosses between the parent and a child, in one place.
 *
 * One convention: every message is a tuple whose first slot is its tag, a string. Tuples, because
 * each message is copied several times on its way (tinypool relays a task through a MessagePort,
 * then the IPC channel serializes it, then the child parses it), and a small array with no keys
 * costs less there than an object (bench/analysis.md). Slots are read through the `*Slot`
 * constants, never by bare number. Messages sent on the IPC channel beside tinypool's own carry a
 * tag that starts with `run-in-process:`, so the two never mix.
 *
 * Payloads travel pre-serialized (`v8.serialize`) as bytes, which also lets us name the exact path
 * of a value that cannot cross before anything is sent.
 */

/**
 * The one setting that travels in a child's environment: the child is one of a pool's (an id), and
 * leads a process group of its own (`g:<id>`) or not (`n:<id>`, on Windows) (pool/local/child-fork.ts). It must be in
 * the environment because the fork that starts the child sees nothing else; the child takes it out
 * of `process.env` before any user code runs.
 */
export const processGroupVariable = 'RUN_IN_PROCESS_GROUP_LEADER';

/**
 * The child's lifeline (pool/local/child-fork.ts): a socket whose other end only the parent holds,
 * and into which the parent never writes. It reads end of file when the parent is gone, however it went;
 * the child's sentinel (child/orphan-sentinel.ts) waits on it. The variable holds its descriptor
 * in the child, and is taken out of `process.env` with the one above.
 */
export const lifelineVariable = 'RUN_IN_PROCESS_LIFELINE';
export const lifelineFd = 6;

/**
 * Set when the child has its two pipes beside the IPC channel (pool/local/child-fork.ts): the
 * notice pipe, on which it writes its notices, its answers above all (shared/notice-frames.ts says
 * why), and the control pipe, on which the parent writes batch control (shared/control-frames.ts).
 * The value is their descriptors in the child, `<notice>,<control>`. The child takes it out of
 * `process.env` before any user code runs; where it is not set (Windows), both go on the IPC channel.
 */
export const pipesVariable = 'RUN_IN_PROCESS_PIPES';

/** The descriptors of the two pipes in the child: those after the IPC channel (fd 3). */
export const noticePipeFd = 4;
export const controlPipeFd = 5;

/**
 * The modules a child imports as it starts (pool option `preload`): its command-line arguments are
 * this flag, then a JSON array of `file:` URLs. They are arguments because a child imports them
 * before it takes its first task, and tinypool says it is ready only once that is done.
 */
export const preloadArgument = '--run-in-process-preload';

/**
 * The file descriptors a sandboxed child closes before it runs anything of the pool's: this flag,
 * then a JSON array of numbers (pool/local/inherited-descriptors.ts).
 */
export const closeDescriptorsArgument = '--run-in-process-close-descriptors';

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

// ── Parent to child: tasks (through tinypool) ───────────────────────────────────────────────

/** One call. */
export type CallTask = [
  tag: 'call',
  /** `JSON.stringify(target)`, built once per target in the parent and parsed once per child. */
  target: string,
  /** The parent's call number, which names the call in the child's notices. */
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
  /** Trace context that subscribers of `run-in-process:call` put in its carrier; only when there is some. */
  carrier?: Record<string, string> | undefined,
  /**
   * Only for a call of an async generator: how many items the child may yield before the parent
   * grants more (a Steer). The child drives the generator and sends each item as an Emission.
   */
  window?: number | undefined,
  /**
   * Only for a method with `callbacks: true`: the argument positions that held functions. They
   * travel as `undefined`; the child puts a stub there that sends its arguments as an Emission.
   */
  callbacks?: number[] | undefined,
  /**
   * The snapshot of `this` as it is, beside arguments that go as they are, when every field of it is
   * a primitive (strings above all): it needs no path diagnosis either, and a 100 KB string field
   * then crosses as a 100 KB argument does, with no serialize/deserialize pair of its own.
   */
  self?: Record<string, unknown> | undefined,
];

export const CallSlot = {
  target: 1,
  id: 2,
  input: 3,
  buffers: 4,
  notifyStart: 5,
  carrier: 6,
  window: 7,
  callbacks: 8,
  self: 9,
} as const;

/**
 * Settings of the pool that the child applies itself. They travel with each batch (undefined,
 * nearly free, when none is set) rather than in the environment, which belongs to the user.
 */
export interface ChildSettings {
  /** Retire after answering this many calls. */
  recycleAfterCalls?: number;
  /** Retire when the heap is above this many bytes after a call (tinypool looks only when a task ends). */
  recycleAboveHeapBytes?: number;
  /**
   * Time each call here and say so before its answer (`recordTiming`): when the parent reads a
   * call's start and answer is late by however long its own event loop was busy.
   */
  timeCalls?: true;
}

/**
 * Calls sent together as one tinypool task. The child runs them one after another and answers
 * each the moment it finishes, on its notice pipe (an answer notice), so no result waits for the
 * rest of the batch, and one that is sent survives a crash of the child on the next call. With
 * `keepOpen`, the batch stays open after its last call until the parent closes it, and while it is
 * open the parent may add calls to it directly on the child's IPC channel (a BatchControl).
 */
export type BatchTask = [
  tag: 'batch',
  batch: number,
  calls: CallTask[],
  keepOpen: boolean,
  settings: ChildSettings | undefined,
];

export const BatchSlot = { id: 1, calls: 2, keepOpen: 3, settings: 4 } as const;

/** Sent to make tinypool start a replacement child for tasks it left queued (local transport). */
export type WakeTask = [tag: 'wake'];

/**
 * Sent once to each child a pool keeps warm, once it is ready: it runs a no-op call through its
 * call path, so that the first real call does not pay for compiling it (child/warm-up.ts).
 */
export type WarmTask = [tag: 'warm'];

export type Task = BatchTask | WakeTask | WarmTask;

/**
 * What a task resolves with in tinypool: the batch ended (`slow`: early, after a slow call), woken, or
 * warmed. The child names the batch it ended (`batch`): the parent reads the result on that child's
 * IPC channel, and so knows which child ran it even when no notice of the batch reached it.
 */
export type TaskResult = [tag: 'batch-end', slow: boolean, batch?: number] | [tag: 'woken'] | [tag: 'warmed'];

export const TaskResultSlot = { slow: 1, batch: 2 } as const;

// ── Parent to child: batch control, on the control pipe (the IPC channel where there is none) ─

export type BatchControl =
  | [tag: 'run-in-process:append', batch: number, calls: CallTask[]]
  | [tag: 'run-in-process:close', batch: number]
  /** To a running call that streams: more credit, or stop. */
  | [tag: 'run-in-process:steer', batch: number, call: number, steer: Steer];

export const ControlSlot = { batch: 1, calls: 2, call: 2, steer: 3 } as const;

/**
 * What the parent tells a running stream. `credit`: it may yield `count` more items (the consumer
 * pulled them). `stop`: the consumer left (`break`, `return()`, `throw()`); the child calls the
 * generator's `return()` at its next `yield`, so that its `finally` blocks run, then answers.
 */
export type Steer = [tag: 'credit', count: number] | [tag: 'stop'];

export const SteerSlot = { count: 1 } as const;

const controlTags = new Set(['run-in-process:append', 'run-in-process:close', 'run-in-process:steer']);

export function isBatchControl(message: unknown): message is BatchControl {
  return Array.isArray(message) && controlTags.has(message[0]);
}

// ── Child to parent: notices, on the notice pipe (the IPC channel where there is none) ─────

export type ThrownStage = 'call' | 'load' | 'send';

export function isThrownStage(stage: unknown): stage is ThrownStage {
  return stage === 'call' || stage === 'load' || stage === 'send';
}

/** The answer to one call. The child never lets a call's error escape: a lost task means a lost child. */
export type Answer =
  | [tag: 'value', bytes: Uint8Array]
  /** A primitive or typed-array result, sent as it is; `buffer` when it was a Buffer. */
  | [tag: 'as-is', value: unknown, buffer: boolean]
  /**
   * `stage`: 'load' when the target could not be loaded, 'call' when the code threw, 'send' when what
   * it returned or yielded could not be sent back, or what it was given could not be read where it
   * arrived (a SerializationError: the call failed, its code did not).
   */
  | [tag: 'thrown', thrown: EncodedThrown, stage: ThrownStage];

export const AnswerSlot = { payload: 1, buffer: 2, stage: 2 } as const;

/**
 * The `code` of a 'load' failure in which the module was imported but the target was not found in
 * it: its message says what to do, and how modules are imported is beside the point.
 */
export const targetNotFoundCode = 'ERR_RUN_IN_PROCESS_TARGET_NOT_FOUND';
/** The code of the error a child sends as it ends because its own code closed its IPC channel. */
export const channelClosedCode = 'ERR_RUN_IN_PROCESS_CHANNEL_CLOSED';
/** The `code` of the error a child sends as its code ends it outside any call (child/runner.ts). */
export const exitedOutsideCallsCode = 'ERR_RUN_IN_PROCESS_EXITED_OUTSIDE_CALLS';

/**
 * The exit code of a child ending for an error thrown outside any call, or for its lost notice pipe
 * (EX_SOFTWARE): the parent's crash report reads it when the error itself could not be sent.
 */
export const untoldFatalExitCode = 70;

/** A value on its own: a stream's item, encoded as a call's result is. */
export type Value = Exclude<Answer, [tag: 'thrown', ...unknown[]]>;

/**
 * What a running call sends before its answer. `items`: the next values its generator yielded, in
 * order (those it yielded within one turn of the child's event loop go together, one message for
 * several). `callback`: its stub of the function argument at `position` was called with these
 * arguments (`v8.serialize` of the array).
 */
export type Emission = [tag: 'items', items: Value[]] | [tag: 'callback', position: number, args: Uint8Array];

export const EmissionSlot = { items: 1, position: 1, args: 2 } as const;

export type ChildNotice =
  /**
   * It runs this batch, which came with no calls: the parent sends them on the IPC channel now
   * (a batch whose calls carry large payloads, which tinypool's relay would copy once more).
   */
  | [tag: 'run-in-process:opened', batch: number]
  /** A call with `notifyStart` has started. */
  | [tag: 'run-in-process:started', batch: number, call: number]
  /**
   * As `started`, for a call whose child first imports its declaring module (its first call to that
   * module): `imported` follows once it has. The import counts toward the call's timeout, and a
   * timeout that runs out before says so.
   */
  | [tag: 'run-in-process:importing', batch: number, call: number]
  | [tag: 'run-in-process:imported', batch: number, call: number]
  /**
   * When a call started and ended, in ms of the system's monotonic clock (`process.hrtime`, which
   * every process on the machine shares, unlike each one's `performance.timeOrigin`), written just
   * before its answer, with `timeCalls`.
   */
  | [tag: 'run-in-process:ran', batch: number, call: number, startedAt: number, endedAt: number]
  | [tag: 'run-in-process:answer', batch: number, call: number, answer: Answer]
  /** What a running call sends before its answer: a stream's item, a callback's event. */
  | [tag: 'run-in-process:emit', batch: number, call: number, emission: Emission]
  /**
   * It ended this batch (the same result that tinypool carries, `slow` included). Written last, after
   * the batch's answers, on the same pipe: the parent ends a batch only once it has read this too.
   */
  | [tag: 'run-in-process:ended', batch: number, slow: boolean]
  /** The child takes no more calls (its call limit, its heap limit, or a module that failed to load). */
  | [tag: 'run-in-process:retiring']
  /**
   * It could not open its control pipe (a permission model the parent did not see coming): batch
   * control goes on its IPC channel. Said on that channel before the child is ready.
   */
  | [tag: 'run-in-process:control-on-ipc']
  /**
   * Its last words: it retired, and no call of its runs any more (it hands back unrun the batches
   * that reach it), so every call it has not answered is unstarted. It exits with code 0 next.
   */
  | [tag: 'run-in-process:leaving']
  /**
   * An error the child threw outside any call, just before it exits. `running`: the ids of the calls
   * it ran as it was thrown (it starts none after): the others it has not answered never started.
   * `null` where it cannot tell (its notice pipe failed: answers of calls that ran were lost).
   */
  | [tag: 'run-in-process:fatal', thrown: EncodedThrown, running: number[] | null]
  /** A module of `preload` could not be imported: the child exits, and so will every child. */
  | [tag: 'run-in-process:preload-failed', module: string, thrown: EncodedThrown];

export const NoticeSlot = {
  batch: 1,
  call: 2,
  answer: 3,
  emission: 3,
  slow: 2,
  thrown: 1,
  running: 2,
  module: 1,
  preloadThrown: 2,
  startedAt: 3,
  endedAt: 4,
} as const;

const noticeTags = new Set([
  'run-in-process:opened',
  'run-in-process:started',
  'run-in-process:importing',
  'run-in-process:imported',
  'run-in-process:ran',
  'run-in-process:answer',
  'run-in-process:emit',
  'run-in-process:ended',
  'run-in-process:retiring',
  'run-in-process:control-on-ipc',
  'run-in-process:leaving',
  'run-in-process:fatal',
  'run-in-process:preload-failed',
]);

/** Only the tag is checked here: the receiver validates the rest before it trusts any of it. */
export function isChildNotice(message: unknown): message is ChildNotice {
  return Array.isArray(message) && noticeTags.has(message[0]);
}

// ── Thrown values ───────────────────────────────────────────────────────────────────────────

/**
 * A thrown value: an error (or a value that holds errors, when v8 alone cannot clone it) as the
 * `v8.serialize` bytes of the value and of each error's own properties (codec/thrown.ts), with one
 * node per error; or any other value, cloned as it is.
 */
export type EncodedThrown = [tag: 'error', shape: Uint8Array, nodes: ErrorNode[]] | [tag: 'value', bytes: Uint8Array];

export const ThrownSlot = { shape: 1, nodes: 2, bytes: 1 } as const;

/** One error reachable from a thrown value (its `cause`, `errors`, its fields): which class it was. */
export interface ErrorNode {
  /** Where it was first found, within the error that holds it (or the thrown value): `['cause']`, `['errors', 0]`. Informative only. */
  path: Array<string | number>;
  /** `constructor.name` in the child. */
  className: string;
  /** The name under which the declaring module exports that class, if it does. */
  exportName?: string;
}
