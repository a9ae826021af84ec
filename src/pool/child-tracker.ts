import type { ChildProcess } from 'node:child_process';
import type { Signal } from '../errors.js';
import { isChildNotice, type ChildNotice, type EncodedThrown } from '../protocol.js';

/**
 * What tinypool does not tell: how a child ended (exit code, signal), what it last wrote to
 * stderr, whether it ever became ready, and what it said outside tinypool's protocol. We reach
 * the ChildProcess through tinypool's `threads` (each a ProcessWorker holding `.process`); that is
 * the internal we rely on, and why tinypool's version is pinned.
 */

const stderrTailBytes = 8 * 1024;

export class ChildRecord {
  readonly pid: number | undefined;
  /** The child finished booting and took its first task. */
  ready = false;
  /** The child reached its call limit and is being replaced: calls lost with it are safe to resend. */
  retiring = false;
  /** An error the child threw outside any call, reported just before it exited. */
  fatal: EncodedThrown | undefined;
  /** Settles once the child has exited and its stderr is fully read. */
  readonly closed: Promise<void>;
  #stderr = '';

  constructor(readonly process: ChildProcess) {
    this.pid = process.pid;
    this.closed = new Promise((resolve) => process.once('close', () => resolve()));
    process.stderr?.on('data', (chunk: Buffer | string) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-stderrTailBytes);
    });
    // When tinypool stops a child it unpipes its output, and Node pauses a stream left with no
    // pipe: its last lines (the crash report) and its 'close' would never come.
    for (const stream of [process.stdout, process.stderr]) stream?.on('pause', () => stream.resume());
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
}

export interface TrackerEvents {
  onNotice(record: ChildRecord, notice: ChildNotice): void;
}

export class ChildTracker {
  readonly #records = new WeakMap<ChildProcess, ChildRecord>();
  readonly #byExitError = new WeakMap<object, ChildRecord>();
  readonly #byPid = new Map<number, ChildRecord>();

  constructor(readonly events: TrackerEvents) {}

  /** Starts watching the children tinypool started since the last look. Cheap: pools are small. */
  adopt(workers: readonly unknown[]): void {
    for (const worker of workers) {
      const child = (worker as { process?: ChildProcess }).process;
      if (!child || this.#records.has(child)) continue;
      this.#watch(child);
    }
  }

  /** The child whose unexpected exit produced this error (tinypool's "Worker exited unexpectedly"). */
  recordOfExitError(error: unknown): ChildRecord | undefined {
    return typeof error === 'object' && error !== null ? this.#byExitError.get(error) : undefined;
  }

  recordOfPid(pid: number): ChildRecord | undefined {
    return this.#byPid.get(pid);
  }

  get liveCount(): number {
    return this.#byPid.size;
  }

  #watch(child: ChildProcess): void {
    const record = new ChildRecord(child);
    this.#records.set(child, record);
    if (record.pid !== undefined) this.#byPid.set(record.pid, record);
    child.on('message', (message: unknown) => {
      if (isChildNotice(message)) this.events.onNotice(record, message);
      else if ((message as { ready?: unknown } | null)?.ready === true) record.ready = true;
    });
    // tinypool turns an unexpected exit into this 'error' event on the child, synchronously
    // inside 'exit': the error object is the one its tasks are rejected with.
    child.on('error', (error) => this.#byExitError.set(error, record));
    child.once('exit', () => {
      if (record.pid !== undefined) this.#byPid.delete(record.pid);
    });
  }
}
