import type { ChildProcess } from 'node:child_process';
import type { Signal } from '../../errors.js';
import type { ChildNotice, EncodedThrown } from '../../protocol.js';
import { validNotice } from './notice-check.js';

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
  /** The child said it takes no more calls, and is being replaced: calls lost with it never started. */
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

export type NoticeHandler = (record: ChildRecord, notice: ChildNotice) => void;

export class ChildTracker {
  readonly #records = new WeakMap<ChildProcess, ChildRecord>();
  readonly #byExitError = new WeakMap<object, ChildRecord>();

  constructor(private readonly onNotice: NoticeHandler) {}

  /** Starts watching a child, once. */
  adopt(child: ChildProcess): void {
    if (!this.#records.has(child)) this.#watch(child);
  }

  /** The child whose unexpected exit produced this error (tinypool's "Worker exited unexpectedly"). */
  recordOfExitError(error: unknown): ChildRecord | undefined {
    return typeof error === 'object' && error !== null ? this.#byExitError.get(error) : undefined;
  }

  #watch(child: ChildProcess): void {
    const record = new ChildRecord(child);
    this.#records.set(child, record);
    child.on('message', (message: unknown) => {
      if (validNotice(message)) this.onNotice(record, message);
      else if ((message as { ready?: unknown } | null)?.ready === true) record.ready = true;
    });
    // tinypool turns an unexpected exit into this 'error' event on the child, synchronously
    // inside 'exit': the error object is the one its tasks are rejected with.
    child.on('error', (error) => this.#byExitError.set(error, record));
  }
}
