import { hostname } from 'node:os';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { encodeThrown } from '../codec/thrown-encode.js';
import { messageOf } from '../codec/describe-thrown.js';
import {
  AbortError,
  NotServedError,
  PoolClosedError,
  ProcessCrashedError,
  RunInProcessError,
  TimeoutError,
  TransportUnavailableError,
} from '../errors.js';
import type { Answer, CallTask } from '../protocol.js';
import { type FailureKind, failureOf } from '../pool/call-stats.js';
import type { MadeCall, Scheduler } from '../pool/scheduler.js';
import { nearestKeys, type ServedTarget } from './allow-list.js';
import { CallPaces } from './call-paces.js';
import {
  type AnswerEnvelope,
  answerApart,
  answerApartBytes,
  answerBytesOf,
  answerKeyOf,
  answerNotStored,
  type CallPart,
  callInput,
  finishedJobKeptSeconds,
  openJob,
  readsAnswersApart,
  sealAnswers,
  sealProgress,
  sealReleased,
  shown,
} from './envelope.js';
import { warnOnce } from '../shared/warn-once.js';
import { HeldCalls } from './held-calls.js';
import { forgetHolder, recordHolder, stopMarkOf } from './job-holder.js';
import { paceMs, ReleaseGate } from './release-gate.js';
import { forgetReleased, markReleased } from './release-marks.js';
import type { RunningJobs } from './running-jobs.js';
import type { BullmqSettings } from './settings.js';
import { perfNow } from '../shared/real-clock.js';

/** What a worker's jobs run with (worker.ts makes them). */
export interface JobRunnerParts {
  readonly settings: BullmqSettings;
  /** The worker's name in the queue (`<host>:<pid>`). */
  readonly name: string;
  readonly queueName: string;
  /** What it serves, by key (allow-list.ts). */
  readonly targets: ReadonlyMap<string, ServedTarget>;
  /** The local pool's size: a job's calls go to it at least twice that many at a time. */
  readonly poolSize: number;
  /** The local pool the calls run in now: a pool that broke is replaced (worker.ts). */
  readonly pool: () => Scheduler;
  /** The worker's own client (not BullMQ's): who holds a job, its count of calls handed over, answers stored apart. */
  readonly redis: Redis;
  /** A job's hash key. */
  readonly keyOf: (jobId: string) => string;
  readonly running: RunningJobs;
  /** BullMQ's error for "moved back to waiting, not failed". */
  readonly WaitingError: new () => Error;
}

const host = hostname();

/** How long a job waits in the queue before its worker asks whether its caller is still alive. */
const callerAskedAfterMs = 5_000;

/**
 * BullMQ's processor for a worker's jobs: opens a job, runs its calls in the local pool (a job of
 * several a window at a time), and seals their answers; or hands the job back unrun when the worker
 * closes while another can take it.
 */
export function jobRunner(
  given: JobRunnerParts,
): (job: Job, token?: string) => Promise<AnswerEnvelope | typeof answerApart> {
  const { settings, name, queueName, targets, poolSize, pool, redis, keyOf, running, WaitingError } = given;
  /**
   * The answers that carry an error this worker raised (not the user's code), and how their calls
   * failed: sealed past its payload limit, and counted by the caller's stats() as that failure.
   */
  const raisedHere = new WeakMap<Answer, FailureKind>();
  const thrown = (error: unknown): Answer => {
    const answer: Answer = ['thrown', encodeThrown(withWorker(error, name)), 'call'];
    // A worker's own maxQueue is its own affair: its caller counts a call it shed as failed (and a
    // caller that predates the kind would refuse the envelope).
    const kind = failureOf(error);
    raisedHere.set(answer, kind === 'shed' ? 'failed' : kind);
    return answer;
  };
  /**
   * A job taken long after it was added (its worker was stopped, or busy with a backlog) may be its
   * caller's no more: a caller that crashed, or a rollback days later that brings back workers of its
   * build, would have it run for nobody. Its caller says it is alive while it has jobs out; one gone
   * silent has its job dropped. Asked only then: a Redis round trip, not on every job. Redis's own
   * failure to answer is no word that it is gone.
   */
  const callerGone = async (from: string | undefined, job: Job): Promise<boolean> => {
    if (from === undefined || Date.now() - job.timestamp < callerAskedAfterMs) return false;
    try {
      return (await redis.exists(settings.callerKey(queueName, from))) === 0;
    } catch {
      return false;
    }
  };
  /** A job's calls run side by side in the local pool, which batches them to its children. */
  const processor = async (job: Job, token?: string): Promise<AnswerEnvelope | typeof answerApart> => {
    const jobId = job.id ?? '';
    // Who holds the job, for WorkerLostError should this worker die with it (job-holder.ts). Not
    // awaited: ioredis writes the command to its socket at once, before any call of the job reaches a
    // child, and the job does not wait a round trip for it.
    recordHolder(redis, keyOf(jobId), name).catch(() => {});
    let answers: Answer[];
    let codec: string | undefined;
    let labels: string[] = [];
    let apart = false;
    const calls = running.begin(jobId);
    try {
      let envelope: ReturnType<typeof openJob>;
      try {
        envelope = openJob(job.data, jobId, settings.secret, settings.maxPayloadBytes);
      } catch (error) {
        const why = (error as Error).message;
        // Its caller is told (below); the worker's operator would otherwise never hear of a worker
        // that fails every call it takes (another secret than its callers', another version). One
        // reason, whatever the sizes or counts it names, or the values it quotes from the job (forged
        // ones would each be a reason of their own, and use up the warnings a real one needs).
        const reason = why.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/\d+/g, '#');
        warnOnce(
          'RUN_IN_PROCESS_UNREADABLE_JOB',
          reason,
          () =>
            `The worker ${name} (queue ${queueName}) could not read job ${shown(jobId)}: ${why}. Its caller was told ` +
            'so (RunInProcessError); jobs refused for the same reason are not warned about again.',
        );
        throw new RunInProcessError(`The worker could not read job ${shown(jobId)}: ${why}.`);
      }
      codec = envelope.codec;
      labels = envelope.calls.map((part) => part.label);
      apart = readsAnswersApart(envelope);
      // Taken before (handed back by a worker that shut down): its caller may have stopped it since,
      // when the worker holding it could not drop it from the queue (job-holder.ts stopMarkOf).
      const takenBefore = (job.attemptsStarted ?? 1) > 1;
      const marked = takenBefore && (await redis.exists(stopMarkOf(keyOf(jobId)))) > 0;
      // Asked after that wait: a request to stop it that came meanwhile was kept (no call made yet).
      if (running.stoppedEarly(jobId) || marked) {
        const stopped = new AbortError(
          `Job ${jobId} was stopped before it started (its caller aborted it, or timed it out).`,
        );
        answers = envelope.calls.map(() => thrown(stopped));
      } else if (await callerGone(envelope.from, job)) {
        const waited = Math.round((Date.now() - job.timestamp) / 1_000);
        warnOnce(
          'RUN_IN_PROCESS_CALLER_GONE',
          queueName,
          () =>
            `The worker ${name} (queue ${queueName}) dropped job ${shown(jobId)} unrun: it waited ${waited} s in the ` +
            `queue, and its caller has not said it is alive for longer than its callerGoneAfter (it crashed, or ` +
            'ended with calls out). Jobs of callers gone are dropped, not run for nobody; this is said once.',
        );
        const gone = new RunInProcessError(
          `Job ${jobId} was not run: it waited ${waited} s in the queue, and its caller was taken for gone (not heard ` +
            'of for longer than its callerGoneAfter).',
        );
        answers = envelope.calls.map(() => thrown(gone));
      } else {
        const progress = new HeldCalls(job, settings.secret);
        const parts = envelope.calls;
        const gate = parts.length > 1 ? running.gate(jobId, releaseGate(job, parts)) : undefined;
        try {
          answers = await Promise.all(
            parts.map((part, index) => {
              const runPart = () => {
                const sentAt = perfNow();
                const served = targets.has(part.key);
                if (served) paces.sent(part.key);
                return run(part, envelope.codec, calls, (call) => progress.made(index, call, part.timeout)).finally(
                  () => {
                    if (served) paces.settled(part.key, perfNow() - sentAt);
                    gate?.settled();
                  },
                );
              };
              return (gate ? gate.turn(index).then(runPart) : runPart()).catch(thrown);
            }),
          );
        } finally {
          progress.done();
        }
      }
    } catch (error) {
      answers = [thrown(error)]; // The job could not be read: one answer for all its calls.
    } finally {
      running.end(jobId);
    }
    // Not if its caller stopped it meanwhile: it would run on another worker, its caller gone.
    if (running.takeHandedBack(jobId) && !running.stoppedEarly(jobId)) {
      try {
        // Its caller stops their timeouts until another worker starts them; the record of who holds
        // it is dropped, for the next worker's.
        for (let index = 0; index < labels.length; index++)
          void job
            .updateProgress(sealProgress(jobId, index, 'held', job.attemptsStarted ?? 1, settings.secret))
            .catch(() => {});
        await forgetHolder(redis, keyOf(jobId));
        await forgetReleased(redis, keyOf(jobId));
        // Back to waiting, its lock given up; BullMQ takes WaitingError for "moved, not failed".
        await job.moveToWait(token);
        throw new WaitingError();
      } catch (error) {
        if ((error as Error).name === 'WaitingError') throw error;
        const unrun = new PoolClosedError(
          `${labels[0] ?? 'The call'} was not run: its worker shut down before it started it.`,
        );
        answers = answers.map(() => thrown(unrun));
      }
    }
    const envelope = sealAnswers(
      answers,
      host,
      jobId,
      settings.secret,
      settings.maxPayloadBytes,
      codec,
      labels,
      raisedHere,
    );
    if (!apart || answerBytesOf(envelope) <= answerApartBytes) return envelope;
    // Stored before the job is finished, so that a caller who hears it finished finds it (envelope.ts).
    try {
      await redis.set(answerKeyOf(keyOf(jobId)), JSON.stringify(envelope), 'EX', finishedJobKeptSeconds);
    } catch (error) {
      // BullMQ fails the job with this text: the caller tells that its calls ran.
      throw new Error(`${answerNotStored} (${(error as Error).message})`);
    }
    return answerApart;
  };

  /**
   * A job of several calls goes to the pool a window at a time, each counted in Redis before it
   * goes (release-gate.ts): a caller that loses this worker sends again the calls it never started.
   */
  const paces = new CallPaces();
  const releaseGate = (job: Job, parts: readonly CallPart[]): ReleaseGate => {
    const jobId = job.id ?? '';
    const attempt = job.attemptsStarted ?? 1;
    const keys = parts.map((part) => part.key);
    return new ReleaseGate(
      parts.length,
      2 * poolSize,
      paces.callsIn(paceMs, keys, poolSize) ?? 0,
      (count) => markReleased(redis, keyOf(jobId), sealReleased(jobId, attempt, count, settings.secret)),
      (reason) => () =>
        reason === 'refused'
          ? new RunInProcessError(
              `Not run: job ${jobId} is no longer this worker's to run (its caller took the worker for lost, and ` +
                'sends the calls it had not started again; or the job is gone from Redis).',
            )
          : new TransportUnavailableError(
              `Not run: the worker could not record in Redis that it goes on with job ${jobId} ` +
                `(${reason.message}).`,
            ),
    );
  };

  const run = async (
    part: CallPart,
    codec: string,
    calls: Set<MadeCall>,
    onMade: (call: MadeCall) => void,
  ): Promise<Answer> => {
    const served: ServedTarget | undefined = targets.get(part.key);
    if (!served) {
      const nearest = nearestKeys(part.key, targets.keys());
      throw new NotServedError(
        `The worker that took this call (on ${host}, queue ${queueName}) does not serve ${part.key}: it serves ` +
          `${targets.size} target${targets.size === 1 ? '' : 's'}, the nearest: ${nearest.join(', ') || 'none'}. ` +
          `A call goes to whichever worker of its queue takes it first, so every worker of a queue (one pool, one ` +
          `build) must serve the same modules: start this one with the module that declares it, or give workers ` +
          `that serve other modules a pool of their own. Check also that caller and worker run the same build. A caller that runs ` +
          `other files than the workers (src/*.ts under tsx, dist/*.js on the workers) names its targets by their ` +
          `paths: give the method, class or function the same id on both sides (the id option).`,
        part.key,
        nearest,
      );
    }
    const input = callInput(part, codec, settings.maxPayloadBytes);
    const task: CallTask = ['call', served.target, 0, input, undefined, false];
    let made: MadeCall | undefined;
    try {
      // No AbortSignal: a call with one goes to a child alone, while calls that come together (a
      // job's, and jobs that follow one another) go faster together, in the batch a child keeps open.
      return await pool().run(task, served.label, { timeout: part.timeout }, undefined, (call) => {
        made = call;
        onMade(call);
        calls.add(call);
      });
    } finally {
      if (made) calls.delete(made);
    }
  };
  return processor;
}

/**
 * An error raised on this worker says where: `host`, the worker's `name`, and a sentence. What its
 * pool raised while running the call (a crash, a timeout, an abort) ran here, and its pids are this
 * machine's; anything else (not served, a job it could not read) was refused before running.
 */
function withWorker(error: unknown, name: string): unknown {
  if (!(error instanceof Error)) return new RunInProcessError(`The worker ${name} failed: ${messageOf(error)}`);
  for (const [key, value] of Object.entries({ host, worker: name })) {
    Object.defineProperty(error, key, { value, enumerable: true, writable: true, configurable: true });
  }
  const ran =
    error instanceof ProcessCrashedError ||
    error instanceof TimeoutError ||
    error instanceof AbortError ||
    error instanceof PoolClosedError;
  // A call its worker's pool held, unstarted, when the worker shut down did not run there.
  const unrun = error instanceof PoolClosedError && !error.mayHaveRun;
  const said = unrun
    ? ` (Not run: the remote worker ${name}, which held it, shut down.)`
    : ran
      ? ` (It ran on the remote worker ${name}.)`
      : ` (Refused by the remote worker ${name}.)`;
  // Said at the end of its first line: after it may come the child's last stderr lines, quoted.
  const lineEnd = error.message.indexOf('\n');
  error.message =
    lineEnd < 0 ? error.message + said : error.message.slice(0, lineEnd) + said + error.message.slice(lineEnd);
  return error;
}
