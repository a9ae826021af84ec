import { hostname } from 'node:os';
import { guardInspector } from '../shared/inspector-guard.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { encodeThrown } from '../codec/thrown-encode.js';
import {
  AbortError,
  NotServedError,
  optionError,
  usageError,
  PoolClosedError,
  ProcessCrashedError,
  RunInProcessError,
  TimeoutError,
  TransportUnavailableError,
} from '../errors.js';
import {
  asModuleUrl,
  checkPoolOptions,
  checkServeOptions,
  checkShutdownOptions,
  type PoolOptions,
  type ShutdownOptions,
} from '../options.js';
import type { Answer, CallTask } from '../protocol.js';
import { enablesPermissions, isPermissionFlag } from '../pool/local/sandbox.js';
import { TinypoolTransport } from '../pool/local/tinypool-transport.js';
import { type FailureKind, failureOf } from '../pool/call-stats.js';
import { type MadeCall, Scheduler } from '../pool/scheduler.js';
import { resolveSettings } from '../pool/settings.js';
import { allowList, importServed, nearestKeys, type ServedTarget } from './allow-list.js';
import { buildIdFor, queueNameOf } from './build-id.js';
import {
  type AnswerEnvelope,
  answerApart,
  answerApartBytes,
  answerBytesOf,
  answerKeyOf,
  answerNotStored,
  type CallPart,
  finishedJobKeptSeconds,
  callInput,
  openCancel,
  openJob,
  sealAnswers,
  readsAnswersApart,
  sealProgress,
  sealReleased,
} from './envelope.js';
import { loadBullMQ } from './peers.js';
import { announce, countAlive, type Presence } from './worker-presence.js';
import { forgetHolder, recordHolder, stopMarkOf } from './job-holder.js';
import { RunningJobs } from './running-jobs.js';
import { HeldCalls } from './held-calls.js';
import { paceMs, ReleaseGate } from './release-gate.js';
import { CallPaces } from './call-paces.js';
import { forgetReleased, markReleased } from './release-marks.js';
import type { BullmqSettings } from './settings.js';
import { messageOf } from '../codec/describe-thrown.js';

export interface ServeOptions {
  /** The transport the callers use: `bullmq({ connection })`. */
  transport: { readonly settings: BullmqSettings };
  /** The pool whose calls this worker takes. */
  pool: string;
  /** The modules whose targets it serves: paths (from the working directory), or URLs. */
  modules: string[];
  /** Options of the local pool the calls run in (size, timeout, env, maxMemoryMb…). */
  poolOptions?: PoolOptions;
  /** Jobs taken at once: a positive integer. Default: the local pool's size. */
  concurrency?: number;
  /**
   * Told when Redis cannot be reached, once for each new reason, while the worker keeps trying (it
   * retries for ever: `serve()` settles once Redis answers). The CLI prints it.
   */
  onConnectionError?: (error: Error) => void;
}

export interface RemoteWorker {
  /** The keys it serves. */
  readonly served: string[];
  /** Modules that registered targets it cannot serve: in no package, with no id. */
  readonly unnamed: string[];
  /** Targets of its pool that stream or take callbacks, which a remote pool cannot relay yet: not served. */
  readonly unrelayed: string[];
  /** Its name in the queue (`<host>:<pid>`), as WorkerLostError.worker reports it. */
  readonly name: string;
  readonly queueName: string;
  /**
   * Stops taking jobs, lets the running ones finish, then stops the local pool. With a `deadline`
   * (ms), calls still running past it fail with PoolClosedError (their callers are told so), and
   * their children are stopped; a later close() with a deadline hurries one under way.
   */
  close(options?: ShutdownOptions): Promise<void>;
}

const host = hostname();

/**
 * A worker: takes the pool's jobs from the queue and runs each call in its own local pool of child
 * processes, so that a crash, an out-of-memory or a hang in user code costs that call (answered as
 * ProcessCrashedError or TimeoutError, with this `host`), and the worker goes on serving.
 */
export async function serve(options: ServeOptions): Promise<RemoteWorker> {
  const concurrency = (options as Partial<ServeOptions> | undefined)?.concurrency;
  // Checked here, before the modules are imported: BullMQ's own check comes only after, with its own words.
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
    throw optionError(
      `serve(): concurrency must be a positive integer (got ${String(concurrency)}).`,
      typeof concurrency === 'number',
    );
  }
  checkServeOptions(options);
  const { settings } = options.transport;
  const poolOptions = checkPoolOptions(options.poolOptions ?? {}, 'serve(): poolOptions');
  // lingerMs: the next job comes a Redis round trip after the last answer: a child's open batch waits for it.
  const local = { ...resolveSettings(options.pool, poolOptions), lingerMs: 10 };
  // Refused before the modules are imported, before any of their code runs.
  // What the pool itself asks for: not the worker's own flags, which its children inherit (a worker
  // run under the model gives them its own rights, which its modules' top-level code has too).
  const asksSandbox =
    poolOptions.permissions !== undefined ||
    (poolOptions.execArgv ?? []).some(isPermissionFlag) ||
    enablesPermissions(poolOptions.env?.['NODE_OPTIONS']);
  if (asksSandbox) throw sandboxRefused(options.pool);
  // A worker holds its Redis connection and the secret that signs calls to every worker: no process of
  // the machine's user (a sandboxed plugin of another app among them) may open its inspector.
  guardInspector();
  const urls = options.modules.map(asModuleUrl);
  const { targets, unnamed, otherPools, unrelayed } = await allowList(await importServed(urls), options.pool);
  // A worker that serves nothing would count as live for callers, and answer each call NotServedError.
  if (targets.size === 0) {
    const elsewhere =
      otherPools.length > 0
        ? ` They declare targets for other pools (${otherPools.join(', ')}), not for ${options.pool}.`
        : '';
    const nameless =
      unnamed.length > 0
        ? ` Their targets in ${unnamed.join(', ')} have no name a caller could use (no package, no id).`
        : '';
    const streaming =
      unrelayed.length > 0
        ? ` ${unrelayed.join(', ')} stream or take callbacks, which a remote pool cannot relay yet.`
        : '';
    throw usageError(
      `serve(): the modules ${urls.join(', ')} declare no target of pool ${options.pool}, so this worker would serve ` +
        `nothing.${elsewhere}${nameless}${streaming} Give the modules that declare the pool's decorated methods or wrapped ` +
        `functions, or the pool they name (--pool).`,
    );
  }
  // A pool none of whose children could boot (a preload that failed, a fork refused) fails the calls
  // it holds and closes: the next call starts a pool again, as a local pool's next call does.
  const broken = new Set<Promise<void>>();
  const startPool = (): Scheduler => {
    const pool: Scheduler = new Scheduler(
      local,
      (events) => new TinypoolTransport(local, events),
      () => {
        if (scheduler === pool) scheduler = startPool();
        const closed = pool.close(Number.POSITIVE_INFINITY).finally(() => broken.delete(closed));
        broken.add(closed);
      },
    );
    return pool;
  };
  let scheduler = startPool();
  const queueName = queueNameOf(options.pool, buildIdFor(settings.buildId, urls[0]));
  const { bullmq, Redis } = loadBullMQ();
  let lastReason: string | undefined;
  const connect = (): Redis => {
    const client = settings.redis(Redis, { maxRetriesPerRequest: null });
    // ioredis reconnects by itself; who started the worker is told why it waits, not once a second.
    client.on('error', (error: Error) => {
      if (error.message === lastReason) return;
      lastReason = error.message;
      options.onConnectionError?.(error);
    });
    client.on('ready', () => (lastReason = undefined));
    return client;
  };
  /** Its name in the queue, as BullMQ records who took a job (WorkerLostError.worker). */
  const name = `${host}:${process.pid}`;
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
  // Says this worker is alive (below), and which jobs it holds. Made before the worker, which may
  // take a job as soon as it exists.
  const presenceClient = connect();

  // Requests to stop a job not held yet are kept a minute, or the time a worker has to hold a job
  // before BullMQ takes it for stalled, if longer.
  const running = new RunningJobs(Math.max(60_000, settings.lockDuration + settings.stalledInterval));
  /** A job's calls run side by side in the local pool, which batches them to its children. */
  const processor = async (job: Job, token?: string): Promise<AnswerEnvelope | typeof answerApart> => {
    const jobId = job.id ?? '';
    // Who holds the job, for WorkerLostError should this worker die with it (job-holder.ts). Not
    // awaited: ioredis writes the command to its socket at once, before any call of the job reaches a
    // child, and the job does not wait a round trip for it.
    recordHolder(presenceClient, worker.toKey(jobId), name).catch(() => {});
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
        throw new RunInProcessError(`The worker could not read job ${jobId}: ${(error as Error).message}.`);
      }
      codec = envelope.codec;
      labels = envelope.calls.map((part) => part.label);
      apart = readsAnswersApart(envelope);
      // Taken before (handed back by a worker that shut down): its caller may have stopped it since,
      // when the worker holding it could not drop it from the queue (job-holder.ts stopMarkOf).
      const takenBefore = (job.attemptsStarted ?? 1) > 1;
      const marked = takenBefore && (await presenceClient.exists(stopMarkOf(worker.toKey(jobId)))) > 0;
      // Asked after that wait: a request to stop it that came meanwhile was kept (no call made yet).
      if (running.stoppedEarly(jobId) || marked) {
        const stopped = new AbortError(
          `Job ${jobId} was stopped before it started (its caller aborted it, or timed it out).`,
        );
        answers = envelope.calls.map(() => thrown(stopped));
      } else {
        const progress = new HeldCalls(job, settings.secret);
        const parts = envelope.calls;
        const gate = parts.length > 1 ? running.gate(jobId, releaseGate(job, parts)) : undefined;
        try {
          answers = await Promise.all(
            parts.map((part, index) => {
              const runPart = () => {
                const sentAt = performance.now();
                const served = targets.has(part.key);
                if (served) paces.sent(part.key);
                return run(part, envelope.codec, calls, (call) => progress.made(index, call, part.timeout)).finally(
                  () => {
                    if (served) paces.settled(part.key, performance.now() - sentAt);
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
        await forgetHolder(presenceClient, worker.toKey(jobId));
        await forgetReleased(presenceClient, worker.toKey(jobId));
        // Back to waiting, its lock given up; BullMQ takes WaitingError for "moved, not failed".
        await job.moveToWait(token);
        throw new bullmq.WaitingError();
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
      await presenceClient.set(
        answerKeyOf(worker.toKey(jobId)),
        JSON.stringify(envelope),
        'EX',
        finishedJobKeptSeconds,
      );
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
      2 * local.size,
      paces.callsIn(paceMs, keys, local.size) ?? 0,
      (count) =>
        markReleased(presenceClient, worker.toKey(jobId), sealReleased(jobId, attempt, count, settings.secret)),
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
        `No worker of queue ${queueName} serves ${part.key} (this one, on ${host}, serves ${targets.size} ` +
          `target${targets.size === 1 ? '' : 's'}; the nearest: ${nearest.join(', ') || 'none'}). Start the worker ` +
          `with the module that declares it, or check that caller and worker run the same build. A caller that runs ` +
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
      return await scheduler.run(task, served.label, { timeout: part.timeout }, undefined, (call) => {
        made = call;
        onMade(call);
        calls.add(call);
      });
    } finally {
      if (made) calls.delete(made);
    }
  };

  const worker: Worker = new bullmq.Worker(queueName, processor, {
    connection: connect(),
    ...(settings.prefix && { prefix: settings.prefix }),
    concurrency: concurrency ?? local.size,
    name,
    // At most once: a job whose worker died is failed, never handed to another worker behind the caller's back.
    maxStalledCount: 0,
    lockDuration: settings.lockDuration,
    stalledInterval: settings.stalledInterval,
    // Started once it has said it is alive (below): a caller that finds a job of its taken by a
    // worker it cannot see alive takes that worker for lost.
    autorun: false,
  });
  worker.on('error', () => {}); // A lost connection is retried by ioredis; jobs in hand finish.

  // A caller that aborts a call, or whose timeout passed, asks the worker holding the job to stop it.
  const cancels = connect();
  cancels.on('message', (_channel: string, message: string) => {
    const jobId = openCancel(message, settings.secret);
    if (jobId !== undefined) running.stop(jobId); // Not signed with the secret: not a caller's.
  });
  let presence: Presence;
  try {
    await cancels.subscribe(settings.cancelChannel(queueName));
    await worker.waitUntilReady();
    // Callers check that some worker is alive before they add a job, and notice when none is left.
    // Its word lasts as long as BullMQ would take to find it lost. Given up only once its calls are
    // done (in close()): a caller whose call it still runs must not take it for gone.
    presence = await announce(
      presenceClient,
      settings.presenceKey(queueName),
      name,
      settings.lockDuration + settings.stalledInterval,
    );
  } catch (error) {
    // Refused (an ACL without EVAL or SUBSCRIBE, say): nothing it opened may hold the process.
    await Promise.race([worker.disconnect(), sleep(1_000)]).catch(() => {});
    cancels.disconnect();
    presenceClient.disconnect();
    await scheduler.close(0);
    throw error;
  }
  // Settles when the worker closes; what fails in it is an 'error' event (above).
  worker.run().catch(() => {});
  let closing: Promise<void> | undefined;

  return {
    served: [...targets.keys()].sort(),
    unnamed,
    unrelayed,
    queueName,
    name,
    close(options: ShutdownOptions = {}) {
      const { deadline } = checkShutdownOptions(options, 'worker.close(options)');
      // Handed back only to another live worker: the last one runs what it holds (a drain, a deploy
      // of one replica), where the jobs would otherwise wait for a worker, or fail NoWorkerError.
      // Asked at most a second; the deadline counts from then.
      const stopping = Promise.race([
        countAlive(presenceClient, settings.presenceKey(queueName)),
        sleep(1_000, 0, { ref: false }),
      ])
        .catch(() => 0)
        .then((alive) => {
          if (alive > 1) running.handBack();
          if (deadline !== undefined) scheduler.close(deadline).catch(() => {});
        });
      closing ??= (async () => {
        await stopping;
        // BullMQ's close() lets the jobs in hand finish, then stops; after a Redis restart it may never
        // return (6.7): once our own calls are done, it is given two seconds, then disconnected. The
        // waits do not hold the process: once all is closed, it may exit at once.
        const unheld = { ref: false };
        await Promise.race([worker.close(), running.idle().then(() => sleep(2_000, undefined, unheld))]);
        await Promise.race([worker.disconnect(), sleep(1_000, undefined, unheld)]).catch(() => {});
        await Promise.race([presence.leave(), sleep(1_000, undefined, unheld)]);
        await scheduler.close(Number.POSITIVE_INFINITY);
        await Promise.all(broken);
        cancels.disconnect();
        presenceClient.disconnect();
      })();
      return closing;
    },
  };
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
  const said = ran ? ` (It ran on the remote worker ${name}.)` : ` (Refused by the remote worker ${name}.)`;
  // Said at the end of its first line: after it may come the child's last stderr lines, quoted.
  const lineEnd = error.message.indexOf('\n');
  error.message =
    lineEnd < 0 ? error.message + said : error.message.slice(0, lineEnd) + said + error.message.slice(lineEnd);
  return error;
}

/**
 * A worker imports the modules it serves in its own process, to learn the targets they register
 * (allow-list.ts): their top-level code runs there, with all of the worker's rights. A sandbox on its
 * children would cover the calls, not that code, and so would seem to hold a plugin it does not.
 */
function sandboxRefused(pool: string): Error {
  return optionError(
    `serve(): the pool ${pool} would run under Node's permission model (permissions, or a permission flag in its ` +
      `execArgv or NODE_OPTIONS), but a worker imports the modules it serves in its own process, outside any ` +
      `sandbox, to learn their targets: their top-level code would run with all of the worker's rights. Serve only ` +
      `trusted code on a remote pool, and run untrusted plugins in a local pool with permissions.`,
  );
}
