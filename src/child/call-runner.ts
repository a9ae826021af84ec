import type { ExportNameOf } from '../codec/thrown-shape.js';
import { asBuffer, decodeValue, ownView } from '../codec/values.js';
import { SerializationError } from '../errors.js';
import { CallSlot, type Answer, type CallTask, type ChildNotice, type ChildSettings } from '../protocol.js';
import { exportedValues } from '../shared/module-exports.js';
import { warnOnce } from '../shared/warn-once.js';
import { type ChildCallContext, childCallChannel, tracedOwn } from '../shared/tracing.js';
import { answerWith, thrownAnswer } from './answers.js';
import { stubCallbacks } from './callback-stubs.js';
import { importedNamespace, importModule, importOnce, isImported } from './module-cache.js';
import { isPing } from './ping.js';
import { isTargetNotFound, resolveTarget } from './resolve-target.js';
import { parseTarget } from './target-keys.js';
import { driveStream, flushItems, type StreamHooks } from './stream-runner.js';
import { monotonicMs } from '../shared/monotonic-clock.js';
import { clearTimeout, setTimeout } from '../shared/real-clock.js';

/** Taken as the child loads: code there may replace Function.prototype.apply, or Reflect. */
const { apply } = Reflect;

/**
 * Runs calls and always answers: the user's code may throw anything, and it still comes back as
 * data, never as a rejected task. One runner is one child's worth of state: how many calls it
 * started, and whether it has retired (past its call limit, or after a failed import, whose
 * failure stays in this process's module cache). A child has one; inline mode makes a new one to
 * stand for a fresh child.
 */
export class CallRunner {
  settings: ChildSettings = {};
  /** In inline mode, where the declaring modules are this process's own (pool/inline-transport.ts). */
  constructor(readonly inline = false) {}
  #started = 0;
  #retired = false;
  readonly #running = new Set<number>();

  /** The ids of the calls it runs at this moment, from their start to their answer. */
  get runningCalls(): ReadonlySet<number> {
    return this.#running;
  }

  /** It takes no more calls: the parent replaces its child. */
  get retired(): boolean {
    return this.#retired;
  }

  /** It starts no more calls (its heap is above the limit): the calls it runs still finish. */
  retire(): void {
    this.#retired = true;
  }

  async run(task: CallTask, batch: number, notify: (notice: ChildNotice) => void): Promise<Answer> {
    // A call that first imports its module says so, and again once it has: its timeout counts the
    // import, and a timeout that runs out before should say why.
    const importing = task[CallSlot.notifyStart] === true && importsFirst(task);
    if (task[CallSlot.notifyStart])
      notify([importing ? 'run-in-process:importing' : 'run-in-process:started', batch, task[CallSlot.id]]);
    const startedAt = this.settings.timeCalls ? monotonicMs() : 0;
    // The warm-up's pings are no one's calls: not traced, and not counted towards the call limit.
    const ping = isPing(task);
    // Counted as it starts, not as it ends: with callsPerChild above 1, a call started beside the
    // last one allowed would be one more than the limit.
    const limit = this.settings.recycleAfterCalls;
    if (limit !== undefined && !ping && ++this.#started >= limit) this.#retired = true;
    const id = task[CallSlot.id];
    this.#running.add(id);
    let ran: { answer: Answer; healthy: boolean };
    try {
      ran = await execute(task, batch, notify, !ping, importing, this.inline);
    } finally {
      this.#running.delete(id);
    }
    const { answer, healthy } = ran;
    if (startedAt > 0 && !ping) {
      notify(['run-in-process:ran', batch, task[CallSlot.id], startedAt, monotonicMs()]);
    }
    if (!healthy) this.#retired = true;
    return answer;
  }
}

/**
 * Inline mode: a call made by its own module's top-level `await` (`export const value = await
 * new Cfg().load()`) waits for that module's `import()`, which waits for the call: for ever (a
 * review's). It cannot run early: a module that is merely slow to load (its top level awaits a
 * connection) must have loaded first, as a child imports it whole; and this process cannot tell the
 * two apart. A call whose module has not loaded after a few seconds is said, once per module.
 */
function sayIfWaitingLong(module: string, loading: Promise<void>): void {
  const timer = setTimeout(() => {
    warnOnce(
      'RUN_IN_PROCESS_INLINE',
      `waits:${module}`,
      () =>
        `RUN_IN_PROCESS_INLINE is set, and a call to code of ${module} has waited ${inlineWaitSayMs / 1000} s for that ` +
        `module's import() to settle. A call made by the module's own top-level await can never run inline: the ` +
        `module waits for the call, and the call for the module. Make that call after the module has loaded, or run ` +
        `without RUN_IN_PROCESS_INLINE.`,
    );
  }, inlineWaitSayMs);
  // The call holds the process while it waits, as any call does: not this timer.
  timer.unref();
  loading.finally(() => clearTimeout(timer)).catch(() => {});
}

const inlineWaitSayMs = 3_000;

/** Whether the call's modules are still to be imported in this process (a key that does not parse: no). */
function importsFirst(task: CallTask): boolean {
  let target: ReturnType<typeof parseTarget>;
  try {
    target = parseTarget(task[CallSlot.target]);
  } catch {
    return false;
  }
  if (!isImported(target.module)) return true;
  return target.kind === 'method' && target.instanceClass !== undefined && !isImported(target.instanceClass.module);
}

/** Taken as this module loads, before any code of the user's runs here (which may replace the global's). */
const isArray = Array.isArray;

async function execute(
  task: CallTask,
  batch: number,
  notify: (notice: ChildNotice) => void,
  tracing: boolean,
  importing: boolean,
  inline: boolean,
): Promise<{ answer: Answer; healthy: boolean }> {
  let namespace: object;
  let call: () => unknown;
  let input: { this?: Record<string, unknown> | undefined; args: unknown[] };
  try {
    const sent = task[CallSlot.input];
    input = isArray(sent)
      ? { this: task[CallSlot.self], args: rewrapBuffers(sent, task[CallSlot.buffers]) }
      : callInputOf(decodeValue(sent, 'args', 'in the child process'));
  } catch (error) {
    // Arguments too deep to be read back here, or that V8 writes but cannot read back: this call
    // fails, and the child is as good as before. (What reads them is the library's own, taken before
    // the user's code ran: `isArray` above, the serializer's `deserialize`.)
    return { answer: thrownAnswer(error, 'send'), healthy: true };
  }
  try {
    const target = parseTarget(task[CallSlot.target]);
    const loading = importOnce(target.module);
    if (loading !== undefined) {
      if (inline) sayIfWaitingLong(target.module, loading);
      await loading;
    }
    namespace = importedNamespace(target.module)!;
    if (target.kind === 'method' && target.instanceClass) await importModule(target.instanceClass.module);
    if (importing) notify(['run-in-process:imported', batch, task[CallSlot.id]]);
    const { this: snapshot, args } = input;
    const { fn, self } = resolveTarget(target, namespace, snapshot);
    call = () => apply(fn, self, args);
  } catch (error) {
    // A module that failed to import fails again here (Node keeps its error): a new child imports
    // it afresh. One that loaded but holds no such target (registered only where the parent runs,
    // say) is as good as before: its child stays, and the calls after it pay no new child's start.
    return { answer: thrownAnswer(error, 'load'), healthy: isTargetNotFound(error) };
  }
  const callbacks = task[CallSlot.callbacks];
  const window = task[CallSlot.window];
  const id = task[CallSlot.id];
  // A stream's items yielded before a callback's event go before it.
  const emit =
    window === undefined
      ? notify
      : (notice: ChildNotice) => {
          flushItems(id, notify);
          notify(notice);
        };
  const hangUp = callbacks && stubCallbacks(input.args, callbacks, batch, id, emit);
  try {
    // Asked for the warm-up's pings too, though they are never traced: Node compiles the getter on
    // its first use, which would otherwise fall to the first real call (~20 µs here).
    const traced = childCallChannel.hasSubscribers && tracing;
    if (window !== undefined) {
      // A generator left running (its `finally` did not end) stays with this child, which retires.
      let healthy = true;
      let end: { error: unknown } | { value: unknown } | undefined;
      const hooks: StreamHooks = {
        abandoned: () => {
          healthy = false;
        },
        ended: traced ? (seen) => (end = seen) : undefined,
      };
      const drive = () => driveStream(call, batch, task[CallSlot.id], window, notify, exportNamesOf(namespace), hooks);
      if (!traced) return { answer: await drive(), healthy };
      // Traced with what the generator came to (its error, its return value), as a call is, not the answer.
      let answer: Answer | undefined;
      await inChildCallChannel(task, async () => {
        answer = await drive();
        if (end && 'error' in end) throw end.error;
        return end?.value;
      }).catch((error: unknown) => {
        if (answer === undefined) throw error;
      });
      return { answer: answer!, healthy };
    }
    let result: unknown;
    try {
      result = traced ? await inChildCallChannel(task, call) : await call();
    } catch (error) {
      return { answer: thrownAnswer(error, 'call', exportNamesOf(namespace)), healthy: true };
    }
    return { answer: answerWith(result), healthy: true };
  } finally {
    hangUp?.();
  }
}

/**
 * The call inside `run-in-process:child:call`, whose context carries what the parent's subscribers
 * put in; its outcome is the call's own, whatever a subscriber did to the context.
 */
function inChildCallChannel<T>(task: CallTask, call: () => T): Promise<Awaited<T>> {
  const target = parseTarget(task[CallSlot.target]);
  const label = target.kind === 'function' ? target.id : `${target.className}.${target.method}`;
  const context: ChildCallContext = { target: label, module: target.module, carrier: task[CallSlot.carrier] ?? {} };
  return tracedOwn(childCallChannel, context, async (): Promise<Awaited<T>> => await call());
}

/** Arguments as they were given: Buffers as Buffers, other views each with a buffer of its own. */
function rewrapBuffers(args: unknown[], buffers: number[] | undefined): unknown[] {
  for (let index = 0; index < args.length; index++)
    args[index] = buffers?.includes(index) ? asBuffer(args[index]) : ownView(args[index]);
  return args;
}

const exportNames = new WeakMap<object, ExportNameOf>();

/**
 * Which name the declaring module exports each class under, so the parent can find the class. Read
 * on the first error that needs it, once for the module: every error asks of its class (a plain
 * Error, most often one the module does not export), and reading the exports may run getters
 * (exportedValues); read again for each, a module of many exports cost each error a walk of them
 * all, and ran every getter of its `default` again (a review's).
 */
function exportNamesOf(namespace: object): ExportNameOf {
  let lookup = exportNames.get(namespace);
  if (!lookup) {
    let names: Map<unknown, string> | undefined;
    lookup = (errorClass) => {
      if (!names) {
        const found = new Map<unknown, string>();
        for (const [name, value] of exportedValues(namespace)) if (!found.has(value)) found.set(value, name);
        names = found;
      }
      return names.get(errorClass);
    };
    exportNames.set(namespace, lookup);
  }
  return lookup;
}

/**
 * A call's `this` and arguments as callers send them. A remote worker passes on what a job holds,
 * and whoever can write to its Redis can write a job: an input of another shape is refused here,
 * unrun, rather than run with no arguments (or fail in the user's code as if it had thrown).
 */
function callInputOf(decoded: unknown): { this?: Record<string, unknown>; args: unknown[] } {
  const input = decoded as { this?: unknown; args?: unknown } | null;
  if (
    typeof input === 'object' &&
    input !== null &&
    isArray(input.args) &&
    (input.this === undefined || (typeof input.this === 'object' && input.this !== null))
  )
    return input as { this?: Record<string, unknown>; args: unknown[] };
  throw new SerializationError(
    `The call's input, as the child read it, is not what run-in-process sends ({ this, args: [...] }): the call was ` +
      `not run. (Something other than a caller of run-in-process wrote it: a job written to a remote pool's Redis ` +
      `by hand, say.)`,
    'args',
  );
}
