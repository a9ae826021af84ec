import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Signal } from '../../errors.js';
import {
  type BatchControl,
  type ChildNotice,
  type EncodedThrown,
  isChildNotice,
  noticePipeFd,
} from '../../protocol.js';
import type { StopReason } from '../transport.js';
import { closeHandle, guardChannel } from './channel-guard.js';
import { ifClosedByLiveChild } from './closed-by-child.js';
import { heldBack } from './child-output.js';
import { validNotice } from './notice-check.js';
import { controlPipeOf, writeControl } from './control-pipe.js';
import { readNotices } from './notice-pipe.js';
import { keptStderr } from './stderr-tail.js';
import { nextTick } from '../../shared/real-clock.js';

/**
 * What tinypool does not tell: how a child ended (exit code, signal), what it last wrote to
 * stderr, whether it ever became ready, and what it said outside tinypool's protocol. The
 * transport hands over each ChildProcess it finds behind tinypool (tinypool-transport.ts).
 */

const stderrTailBytes = 8 * 1024;

export class ChildRecord {
  readonly pid: number | undefined;
  /** The child finished booting and took its first task. */
  ready = false;
  /** The child said it takes no more calls, and is being replaced. */
  retiring = false;
  /** It said it leaves, no call of its running: calls lost with its clean exit never started. */
  leaving = false;
  /** An error the child threw outside any call, reported just before it exited. */
  fatal: EncodedThrown | undefined;
  /** The calls it ran as it threw that error, where it could tell: it started none after. */
  fatalRunning: ReadonlySet<number> | undefined;
  /** A call it ran then was lost with it, and fails with that error as its cause. */
  fatalBlamed = false;
  /** Why the parent stopped it for misbehaving: a malformed message, or one about another child's batch. */
  misbehaved: string | undefined;
  /** Its notice pipe closed while it still ran: what it wrote after (a call's start, say) was lost. */
  noticesCut = false;
  /** Why the pool stopped it, when it did: for the `run-in-process:child:exit` channel. */
  stoppedFor: StopReason | undefined;
  /** When (in the transport's count of sends and stops) the pool began to stop it. */
  stoppedAt: number | undefined;
  /** It was killed for not being ready within this many ms (startTimeout). */
  bootTimedOut: number | undefined;
  /** It said it could not import a module of the pool's preload, and exits for it. */
  preloadFailed = false;
  /** A batch was lost with it: the calls of that batch are told how it ended. */
  lostBatches = false;
  /** Settles once the child has exited and its stderr is fully read. */
  readonly closed: Promise<void>;
  #stderr = '';
  /** Where batch control goes, when the child has a control pipe (child-fork.ts); else its IPC channel. */
  #control: Writable | undefined;

  constructor(
    readonly process: ChildProcess,
    onBroken: (why: string) => void,
  ) {
    this.pid = process.pid;
    this.#control = controlPipeOf(process, onBroken);
    this.closed = new Promise((resolve) => process.once('close', () => resolve()));
    process.stderr?.on('data', (chunk: Buffer | string) => {
      this.#stderr = keptStderr(this.#stderr, chunk.toString(), stderrTailBytes);
    });
    // When tinypool stops a child it unpipes its output, and Node pauses a stream left with no
    // pipe: its last lines (the crash report) and its 'close' would never come.
    // (Not one that child-output.ts holds back for a slow reader: it resumes it itself.)
    for (const stream of [process.stdout, process.stderr])
      stream?.on('pause', () => heldBack(stream) || stream.resume());
  }

  /** Batches whose calls' callbacks pile up here: while there is one, its notice pipe is not read. */
  #noticesHeldFor = new Set<number>();

  /**
   * Stops reading its notice pipe for this batch (or reads it again): the child, whose writes then
   * wait for the pipe, waits for the parent. Not on the IPC channel, where notices go without that
   * pipe (Windows, RUN_IN_PROCESS_IPC_ONLY): there the child is not held.
   */
  holdNotices(batch: number, held: boolean): void {
    const pipe = this.process.stdio[noticePipeFd] as Readable | null | undefined;
    const before = this.#noticesHeldFor.size;
    if (held) this.#noticesHeldFor.add(batch);
    else this.#noticesHeldFor.delete(batch);
    if (!pipe || before > 0 === this.#noticesHeldFor.size > 0) return;
    if (this.#noticesHeldFor.size > 0) pipe.pause();
    else pipe.resume();
  }

  /** The child could not open its control pipe: what the parent tells it goes on its IPC channel. */
  controlOnIpc(): void {
    this.#control = undefined;
  }

  get exitCode(): number | null {
    return this.process.exitCode;
  }

  get signal(): Signal | null {
    return this.process.signalCode as Signal | null;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /**
   * It retired, said it was leaving, and exited with code 0 (child/runner.ts): what it had not
   * answered, it never started. Any other end (its own code's process.exit(0) among them) may have
   * come in the middle of a call.
   */
  get leftCleanly(): boolean {
    return this.leaving && this.exitCode === 0 && this.signal === null;
  }

  /**
   * Sends batch control on the IPC channel; false when the channel is closed (the child is dying,
   * and the failure of its batch will come). send()'s own result only says whether Node buffered the
   * message. The callback takes a failed write to a dying child, which would otherwise be an 'error'
   * event on it, and crash tinypool's destroy(), which waits for the child's exit with events.once().
   */
  send(message: BatchControl): boolean {
    if (!this.process.connected) return false;
    try {
      if (this.#control) return writeControl(this.#control, message);
      this.process.send(message, ignoreWriteError);
      return true;
    } catch {
      // A message that cannot be serialized: the calls were not sent, and go another way.
      return false;
    }
  }
}

function ignoreWriteError(): void {
  // The child is gone; the failure of its batch says so, and what was lost is sent again.
}

/** What the tracker tells of its children, and the one thing it must be told. */
export interface TrackerEvents {
  onNotice(record: ChildRecord, notice: ChildNotice): void;
  /** A child sent something that claims to be a notice and is not one. */
  onMalformed(record: ChildRecord, message: unknown, why?: string): void;
  /** The pool's own word that a child has booted (tinypool-transport.ts knows what it looks like). */
  isReadyMessage(message: unknown): boolean;
  onReady(record: ChildRecord): void;
  /** The batch whose result this is, when it is the pool's message carrying a batch's result (tinypool-transport.ts knows what it looks like). */
  batchResultOf(message: unknown): number | undefined;
  /** A child sent the result of this batch on its own IPC channel: it is the child that ran it. */
  onBatchResult(record: ChildRecord, batch: number): void;
  /** Whether this is the pool's message saying a task failed in the child (the child's own code broke). */
  isTaskFailure(message: unknown): boolean;
  onTaskFailure(record: ChildRecord, message: unknown): void;
  onSpawn(record: ChildRecord): void;
  /** A message is being sent to the child, by the pool or by this side. */
  sending(record: ChildRecord, message: unknown): void;
  /** Why a message from the child is forged, in the pool's own format; undefined when it is not (tinypool-transport.ts knows the format). */
  forged(record: ChildRecord, message: unknown): string | undefined;
  /** `unexpected`: it died on its own, not stopped by the pool. */
  onExit(record: ChildRecord, unexpected: boolean): void;
}

export class ChildTracker {
  readonly #records = new WeakMap<ChildProcess, ChildRecord>();
  readonly #byExitError = new WeakMap<object, ChildRecord>();
  readonly #live = new Set<ChildRecord>();

  constructor(private readonly events: TrackerEvents) {}

  /** Starts watching a child, once. */
  adopt(child: ChildProcess): void {
    if (!this.#records.has(child)) this.#watch(child);
  }

  /** Children alive that have booted. */
  get readyCount(): number {
    let count = 0;
    for (const record of this.#live) if (record.ready) count++;
    return count;
  }

  /** Children alive that have not booted yet. */
  get starting(): number {
    let count = 0;
    for (const record of this.#live) if (!record.ready) count++;
    return count;
  }

  /** The record of a child this tracker watches. */
  recordOf(child: ChildProcess): ChildRecord | undefined {
    return this.#records.get(child);
  }

  /** The children that have not exited yet. */
  get live(): Iterable<ChildRecord> {
    return this.#live;
  }

  /** The child whose unexpected exit produced this error (tinypool's "Worker exited unexpectedly"). */
  recordOfExitError(error: unknown): ChildRecord | undefined {
    return typeof error === 'object' && error !== null ? this.#byExitError.get(error) : undefined;
  }

  #watch(child: ChildProcess): void {
    const record: ChildRecord = new ChildRecord(child, (why) => this.events.onMalformed(record, undefined, why));
    this.#records.set(child, record);
    this.#live.add(record);
    this.events.onSpawn(record);
    let unexpected = false;
    guardChannel(
      child,
      (why) => this.events.onMalformed(record, undefined, why),
      (message) => this.events.forged(record, message),
    );
    // What the pool sends it, so that a message claiming to answer it can be checked (forged()).
    const send = child.send;
    const { events } = this;
    child.send = function sendWatched(this: ChildProcess, ...args: unknown[]): boolean {
      events.sending(record, args[0]);
      return (send as (...args: unknown[]) => boolean).apply(this, args);
    } as typeof child.send;
    // Neither tinypool nor this side ever disconnects: the child closed its end (by exiting, or its
    // code closed the descriptor, which Node in the child does not notice). Its batches' results
    // come on that channel, and would never come.
    child.once('disconnect', () =>
      ifClosedByLiveChild(child, () =>
        this.events.onMalformed(
          record,
          undefined,
          'closed its IPC channel (fd 3), on which the pool hears of its batches; code in the child must not close or reuse that descriptor',
        ),
      ),
    );
    readNotices(
      child,
      (notice) => this.events.onNotice(record, notice),
      (why) => this.events.onMalformed(record, undefined, why),
      () => {
        record.noticesCut = true;
      },
    );
    child.on('message', (message: unknown, handle: unknown) => {
      // A child may send a socket or a server along a message: the parent would hold it open, and
      // never exit. No message of ours carries one: it is closed, and the child stopped.
      if (handle !== undefined) {
        closeHandle(handle);
        this.events.onMalformed(record, message, 'sent a socket or a server over its IPC channel');
        return;
      }
      if (validNotice(message)) this.events.onNotice(record, message);
      else if (isChildNotice(message)) this.events.onMalformed(record, message);
      else if (this.events.isReadyMessage(message)) {
        record.ready = true;
        this.events.onReady(record);
      } else if (this.events.isTaskFailure(message)) {
        this.events.onTaskFailure(record, message);
      } else {
        const batch = this.events.batchResultOf(message);
        if (batch !== undefined) this.events.onBatchResult(record, batch);
      }
    });
    // tinypool turns an unexpected exit into this 'error' event on the child, synchronously
    // inside 'exit': the error object is the one its tasks are rejected with.
    child.on('error', (error) => {
      unexpected = true;
      this.#byExitError.set(error, record);
    });
    // After tinypool's own 'exit' listener, which raises that 'error' first.
    child.once('exit', () =>
      nextTick(() => {
        this.#live.delete(record);
        this.events.onExit(record, unexpected);
      }),
    );
  }
}
