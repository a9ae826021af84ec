import { encodeThrown } from '../codec/thrown-encode.js';
import { RunInProcessError, TransportUnavailableError, usageError, WorkerLostError } from '../errors.js';
import { BatchSlot, CallSlot, type Answer, type BatchTask, type CallTask, type Target } from '../protocol.js';
import type { ChildCounts, StopReason, Transport, TransportEvents } from '../pool/transport.js';
import { openAnswer, sealCall } from './envelope.js';
import type { QueueLink } from './queue-link.js';
import { remoteKey, targetLabel } from './remote-key.js';

export interface CallerOptions {
  secret: string | undefined;
  maxPayloadBytes: number;
  /** Publishes a request to stop a job on the worker that holds it. */
  cancel(jobId: string): Promise<void>;
  /** The link was released by this transport, the last to use it. */
  onReleased(): void;
}

/** One call in the queue: its job, and whether a worker took it. */
interface Sent {
  batch: number;
  call: number;
  label: string;
  active: boolean;
}

/**
 * A pool's calls as jobs in a BullMQ queue, answered by workers on other machines (worker.ts).
 *
 * Every call is a batch of its own (the capacity is unbounded, so the scheduler never groups calls
 * that wait), and so a job of its own: a job is what the queue can drop, hand to one worker, or
 * lose, and a call must be one of those things alone.
 */
export class CallerTransport implements Transport {
  readonly capacity = Number.POSITIVE_INFINITY;
  /** A job's answer is its return value: nothing a call emits before it can cross (issue #13, point 7). */
  readonly streaming = false;
  /** The worker's pool times the call out and answers; the caller's timer waits this much longer. */
  readonly timeoutGrace = 2_000;
  readonly runsIn: string;
  readonly #caller = `${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
  readonly #sent = new Map<string, Sent>();
  readonly #jobOfBatch = new Map<number, string>();
  readonly #keys = new Map<string, { key: string | undefined; label: string }>();
  #closed = false;

  constructor(
    private readonly link: QueueLink,
    private readonly events: TransportEvents,
    private readonly options: CallerOptions,
  ) {
    this.runsIn = `a remote worker (queue ${link.queueName})`;
    link.use();
  }

  /** Jobs no worker has taken yet: counted as they go, since the scheduler reads it on its paths. */
  waiting = 0;

  submit(task: BatchTask, _exclusive: boolean, _stoppable: boolean, timeouts: ReadonlyArray<number | undefined>): void {
    const batch = task[BatchSlot.id];
    // One call per batch: see the class comment.
    const call = task[BatchSlot.calls][0]!;
    void this.#send(batch, call, timeouts[0]);
  }

  async #send(batch: number, call: CallTask, timeout: number | undefined): Promise<void> {
    const callId = call[CallSlot.id];
    const { key, label } = this.#keyOf(call[CallSlot.target]);
    const jobId = `${this.#caller}-${batch}`;
    try {
      if (key === undefined) {
        throw usageError(
          `${label} cannot run in a remote pool: its module is in no package (no package.json with a "name" above it), ` +
            `so a worker on another machine cannot know it. Put it in a package, or give the method, class or wrapper an id.`,
        );
      }
      const envelope = sealCall(call, key, label, timeout, {
        jobId,
        secret: this.options.secret,
        maxBytes: this.options.maxPayloadBytes,
      });
      this.#sent.set(jobId, { batch, call: callId, label, active: false });
      this.waiting++;
      this.#jobOfBatch.set(batch, jobId);
      this.link.watch(jobId, this.#watcher(jobId));
      try {
        await this.link.ready();
        await this.link.queue.add('call', envelope, {
          jobId,
          attempts: 1,
          removeOnComplete: { age: 600 },
          removeOnFail: { age: 600 },
        });
      } catch (error) {
        this.link.forget(jobId);
        throw new TransportUnavailableError(
          `${label} could not be sent: the queue ${this.link.queueName} is unreachable (${(error as Error).message}). ` +
            `Check that Redis runs and that the transport's connection points to it.`,
          { cause: error },
        );
      }
    } catch (error) {
      this.#settle(jobId, batch, callId, ['thrown', encodeThrown(error), 'call']);
    }
  }

  #watcher(jobId: string) {
    return {
      active: () => {
        const sent = this.#sent.get(jobId);
        if (!sent || sent.active) return;
        sent.active = true;
        this.waiting--;
        this.events.started(sent.batch, sent.call);
      },
      completed: (returnValue: unknown) => {
        const sent = this.#sent.get(jobId);
        if (!sent) return;
        let answer: Answer;
        try {
          answer = openAnswer(returnValue, jobId, this.options.secret);
        } catch (error) {
          answer = [
            'thrown',
            encodeThrown(
              new RunInProcessError(`The worker's answer to ${sent.label} was refused: ${(error as Error).message}.`),
            ),
            'call',
          ];
        }
        this.#settle(jobId, sent.batch, sent.call, answer);
      },
      failed: (reason: string) => {
        const sent = this.#sent.get(jobId);
        if (!sent) return;
        const error = /stalled/i.test(reason)
          ? new WorkerLostError(
              `The remote worker running ${sent.label} (job ${jobId}) was lost: it stopped renewing its hold on the job. ` +
                `The call may have run, in part or in full; it is not run again (retries are opt-in, for idempotent work).`,
              sent.label,
              jobId,
              undefined,
            )
          : new RunInProcessError(`The queue failed job ${jobId} (${sent.label}): ${reason}`);
        this.#settle(jobId, sent.batch, sent.call, ['thrown', encodeThrown(error), 'call']);
      },
      lost: (error: Error) => {
        const sent = this.#sent.get(jobId);
        if (sent) this.#settle(jobId, sent.batch, sent.call, ['thrown', encodeThrown(error), 'call']);
      },
    };
  }

  #settle(jobId: string, batch: number, call: number, answer: Answer): void {
    this.#unsent(jobId);
    this.#jobOfBatch.delete(batch);
    this.events.answered(batch, call, answer);
    this.events.ended(batch, false);
  }

  /** The call is no longer in the queue's hands, as far as this caller is concerned. */
  #unsent(jobId: string): Sent | undefined {
    const sent = this.#sent.get(jobId);
    if (sent && !sent.active) this.waiting--;
    this.#sent.delete(jobId);
    return sent;
  }

  append(): boolean {
    return false;
  }

  steer(): boolean {
    return false;
  }

  close(): void {
    // A batch of one call ends with its answer.
  }

  cancel(batch: number, _reason: StopReason): void {
    const jobId = this.#jobOfBatch.get(batch);
    if (jobId === undefined) return;
    const sent = this.#unsent(jobId);
    this.#jobOfBatch.delete(batch);
    this.link.forget(jobId);
    // A waiting job is dropped; one a worker holds is stopped there (its child killed).
    void this.link.queue.remove(jobId).catch(() => 0);
    void this.options.cancel(jobId).catch(() => {});
    if (sent)
      this.events.lost(batch, { kind: 'crashed', error: (label) => new RunInProcessError(`${label} was stopped.`) });
  }

  async destroy(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [jobId, sent] of this.#sent) {
      this.link.forget(jobId);
      this.events.lost(sent.batch, { kind: 'closed' });
    }
    this.#sent.clear();
    this.waiting = 0;
    if (await this.link.release()) this.options.onReleased();
  }

  children(): ChildCounts {
    return { busy: 0, idle: 0, starting: 0, recycled: 0 };
  }

  async warmUp(): Promise<void> {
    await this.link.ready();
  }

  #keyOf(targetJson: string): { key: string | undefined; label: string } {
    let known = this.#keys.get(targetJson);
    if (!known) {
      const target = JSON.parse(targetJson) as Target;
      known = { key: remoteKey(target), label: targetLabel(target) };
      this.#keys.set(targetJson, known);
    }
    return known;
  }
}
