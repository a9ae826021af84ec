import { encodeThrown } from '../codec/thrown-encode.js';
import {
  type JobLostError,
  NoWorkerError,
  RunInProcessError,
  TransportUnavailableError,
  usageError,
  WorkerLostError,
} from '../errors.js';
import { BatchSlot, CallSlot, type Answer, type BatchTask, type CallTask, type Target } from '../protocol.js';
import type { ChildCounts, StopReason, Transport, TransportEvents } from '../pool/transport.js';
import { openAnswer, sealCall } from './envelope.js';
import type { QueueLink } from './queue-link.js';
import { remoteKey, targetLabel, unnamedMessage } from '../shared/remote-key.js';

export interface CallerOptions {
  /** The pool, for messages. */
  pool: string;
  /** A call with no live worker waits for one, rather than fail with NoWorkerError. */
  waitForWorker: boolean;
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
    const target = call[CallSlot.target];
    const { key, label } = this.#keyOf(target);
    const jobId = `${this.#caller}-${batch}`;
    try {
      if (key === undefined) {
        throw usageError(unnamedMessage(label, (JSON.parse(target) as Target).module, this.options.pool));
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
      await this.#reachable(label, async () => {
        await this.link.ready();
        if (!this.options.waitForWorker && !(await this.link.hasWorkers())) throw await this.#noWorker(label);
        await this.link.queue.add('call', envelope, {
          jobId,
          attempts: 1,
          removeOnComplete: { age: 600 },
          removeOnFail: { age: 600 },
        });
      });
    } catch (error) {
      this.#answer(jobId, batch, callId, ['thrown', encodeThrown(error), 'call']);
    }
  }

  /** Runs what talks to Redis; a failure to reach it is TransportUnavailableError, and the job is not watched. */
  async #reachable(label: string, talk: () => Promise<void>): Promise<void> {
    try {
      await talk();
    } catch (error) {
      if (error instanceof NoWorkerError) throw error;
      throw new TransportUnavailableError(
        `${label} could not be sent: the queue ${this.link.queueName} is unreachable (${(error as Error).message}). ` +
          `Check that Redis runs and that the transport's connection points to it.`,
        { cause: error },
      );
    }
  }

  async #noWorker(label: string): Promise<NoWorkerError> {
    const { pool } = this.options;
    const queue = this.link.queueName;
    const build = queue.slice(queue.lastIndexOf('@') + 1);
    const others = await this.link.buildsServing(pool).catch(() => []);
    const elsewhere =
      others.length > 0
        ? ` Workers of pool ${pool} run other builds (${others.join(', ')}): caller and workers must share a build ` +
          `id (the transport's buildId, RUN_IN_PROCESS_BUILD_ID, or the app's package version).`
        : '';
    return new NoWorkerError(
      `${label} was not sent: no live worker takes the calls of pool ${pool} for build ${build} (queue ${queue}).` +
        `${elsewhere} Start one (npx run-in-process worker --connection … --pool ${pool} --build-id ${build} <modules>), ` +
        `or let calls wait for one: bullmq({ waitForWorker: true }).`,
      queue,
    );
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
        this.#answer(jobId, sent.batch, sent.call, answer);
      },
      failed: (reason: string) => {
        const sent = this.#sent.get(jobId);
        if (!sent) return;
        if (/stalled/i.test(reason)) {
          void this.link.workerOf(jobId).then((worker) => this.#workerLost(jobId, sent, worker));
          return;
        }
        const error = new RunInProcessError(`The queue failed job ${jobId} (${sent.label}): ${reason}`);
        this.#answer(jobId, sent.batch, sent.call, ['thrown', encodeThrown(error), 'call']);
      },
      lost: (error: JobLostError) => {
        const sent = this.#sent.get(jobId);
        if (sent) this.#lose(jobId, sent, error);
      },
      orphaned: (state: 'waiting' | 'active', worker: string | undefined) => {
        const sent = this.#sent.get(jobId);
        if (!sent) return;
        if (state === 'active') {
          this.#workerLost(jobId, sent, worker);
        } else if (!this.options.waitForWorker) {
          void this.link.queue.remove(jobId).catch(() => 0);
          void this.#noWorker(sent.label).then((error) => {
            if (this.#sent.get(jobId) === sent)
              this.#answer(jobId, sent.batch, sent.call, ['thrown', encodeThrown(error), 'call']);
          });
        }
      },
    };
  }

  /** Its worker stopped renewing its hold on the job, or no worker is left: it may have run. */
  #workerLost(jobId: string, sent: Sent, worker: string | undefined): void {
    if (this.#sent.get(jobId) !== sent) return;
    const where = worker ? `The remote worker ${worker}` : 'The remote worker';
    const error = new WorkerLostError(
      `${where} running ${sent.label} (job ${jobId}) was lost: it stopped renewing its hold on the job. ` +
        `The call may have run, in part or in full; it is run again only with retries (for idempotent work).`,
      sent.label,
      jobId,
      worker,
    );
    this.#lose(jobId, sent, error);
  }

  /** The call's answer: the batch of one ends with it. */
  #answer(jobId: string, batch: number, call: number, answer: Answer): void {
    this.#release(jobId, batch);
    this.events.answered(batch, call, answer);
    this.events.ended(batch, false);
  }

  /** Lost under its worker: the scheduler runs it again if it has retries left, else fails it with `error`. */
  #lose(jobId: string, sent: Sent, error: Error): void {
    this.#release(jobId, sent.batch);
    this.events.lost(sent.batch, { kind: 'crashed', error: () => error });
  }

  #release(jobId: string, batch: number): void {
    this.#unsent(jobId);
    this.#jobOfBatch.delete(batch);
    this.link.forget(jobId);
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
