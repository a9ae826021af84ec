import { hostname } from 'node:os';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { AbortError, optionError, usageError } from '../errors.js';
import {
  asModuleUrl,
  checkPoolOptions,
  checkServeOptions,
  checkShutdownOptions,
  type PoolOptions,
  type ShutdownOptions,
} from '../options.js';
import { abortedOf, reasonOf, watchAbort } from '../pool/abort-watch.js';
import { enablesPermissions, isPermissionFlag } from '../pool/local/sandbox.js';
import { TinypoolTransport } from '../pool/local/tinypool-transport.js';
import { Scheduler } from '../pool/scheduler.js';
import { resolveSettings } from '../pool/settings.js';
import { guardInspector } from '../shared/inspector-guard.js';
import { allowList, importServed } from './allow-list.js';
import { buildIdFor, queueNameOf } from './build-id.js';
import { checkDatabase, connectionProblem, maskCredentials, noSuchDatabase } from './connection.js';
import { openCancel } from './envelope.js';
import { jobRunner } from './job-runner.js';
import { loadBullMQ } from './peers.js';
import { RunningJobs } from './running-jobs.js';
import type { BullmqSettings } from './settings.js';
import { announce, countAlive, type Presence, servedFingerprint } from './worker-presence.js';
import { warnOnce } from '../shared/warn-once.js';
import type { PoolStats } from '../pool/call-stats.js';
import { sleep } from '../shared/real-clock.js';

/** What the worker command reads from its environment (cli.ts), kept from the children's. */
const workerOnlyVariables = ['RUN_IN_PROCESS_SECRET', 'RUN_IN_PROCESS_CONNECTION'] as const;

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
  /** Told when Redis answers again after `onConnectionError` was told why it did not. The CLI prints it. */
  onConnectionRestored?: () => void;
  /**
   * Gives up starting: while the worker waits for Redis, an abort closes what it opened and
   * `serve()` rejects with AbortError (its cause the signal's reason). No effect once it has started:
   * `close()` stops it then.
   */
  signal?: AbortSignal;
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
   * A snapshot of its local pool, as `stats()` gives one of a local pool: its children, the calls it
   * holds, and what the calls it ran came to, since that pool last started (a pool none of whose
   * children could boot is started again).
   */
  stats(): PoolStats;
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
  // The variables the worker command reads its secret and its Redis URL (a password in it) from are
  // not the served code's: a dependency or an error reporter that reads the environment would get
  // what signs calls to every worker. Passed on only when the pool's own `env` gives them.
  for (const name of workerOnlyVariables) if (poolOptions.env?.[name] === undefined) delete local.env[name];
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
  guardInspector('serve() is called');
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
  /**
   * Every client it opened, BullMQ's copies of them included: BullMQ's disconnect() first waits for
   * a client to be ready, which one refused its credentials never is, and it would try again for ever.
   */
  const clients = new Set<Redis>();
  const connect = (client: Redis = settings.redis(Redis, { maxRetriesPerRequest: null })): Redis => {
    clients.add(client);
    // ioredis reconnects by itself; who started the worker is told why it waits, not once a second.
    client.on('error', (error: Error) => {
      maskCredentials(error); // Told to onConnectionError, and serve() may reject with it.
      // Said once, by the check below, which ends the worker: not a wait for Redis.
      if (noSuchDatabase(error.message)) return;
      const reason = connectionProblem(error);
      if (reason === lastReason) return;
      lastReason = reason;
      options.onConnectionError?.(reason === error.message ? error : new Error(reason, { cause: error }));
    });
    client.on('ready', () => {
      if (lastReason === undefined) return;
      lastReason = undefined;
      options.onConnectionRestored?.();
    });
    const duplicate = client.duplicate.bind(client);
    client.duplicate = ((override) => connect(duplicate(override))) as Redis['duplicate'];
    return client;
  };
  const disconnectAll = (): void => {
    for (const client of clients) client.disconnect();
  };
  /** Its name in the queue, as BullMQ records who took a job (WorkerLostError.worker). */
  const name = `${host}:${process.pid}`;
  // Says this worker is alive (below), and which jobs it holds. Made before the worker, which may
  // take a job as soon as it exists.
  const presenceClient = connect();

  // Requests to stop a job not held yet are kept a minute, or the time a worker has to hold a job
  // before BullMQ takes it for stalled, if longer.
  const running = new RunningJobs(Math.max(60_000, settings.lockDuration + settings.stalledInterval));
  const processor = jobRunner({
    settings,
    name,
    queueName,
    targets,
    poolSize: local.size,
    pool: () => scheduler,
    redis: presenceClient,
    keyOf: (jobId) => worker.toKey(jobId),
    running,
    WaitingError: bullmq.WaitingError,
  });

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
  const starting = (async () => {
    await checkDatabase(presenceClient, settings.where);
    await cancels.subscribe(settings.cancelChannel(queueName));
    await worker.waitUntilReady();
    // Given up meanwhile (serve()'s signal): never said alive, which callers would believe for a while.
    if (abortedOf(options.signal)) throw new Error('serve() was aborted');
    // Callers check that some worker is alive before they add a job, and notice when none is left.
    // Its word lasts as long as BullMQ would take to find it lost. Given up only once its calls are
    // done (in close()): a caller whose call it still runs must not take it for gone.
    return announce(
      presenceClient,
      settings.presenceKey(queueName),
      name,
      settings.lockDuration + settings.stalledInterval,
      servedFingerprint(targets.keys()),
    );
  })();
  try {
    presence = await unlessAborted(starting, options.signal, options.pool);
  } catch (error) {
    // Aborted as it was saying it is alive: it takes that back.
    starting.then(
      (late) => late.leave().catch(() => {}),
      () => {},
    );
    // Refused (an ACL without EVAL or SUBSCRIBE, say): nothing it opened may hold the process.
    await Promise.race([worker.disconnect(), sleep(1_000)]).catch(() => {});
    disconnectAll();
    await scheduler.close(0);
    throw error;
  }
  // Workers of one queue that serve different targets fail calls at random (each job goes to whichever
  // takes it first): a build with other modules under the same build id, most often a package version
  // not bumped. Said as this one joins them.
  if (presence.othersServingOtherwise > 0) {
    warnOnce(
      'RUN_IN_PROCESS_MIXED_WORKERS',
      queueName,
      () =>
        `The worker ${name} serves other targets than ${presence.othersServingOtherwise} live worker(s) of queue ` +
        `${queueName}: a job goes to whichever worker takes it first, so calls of a target that only some serve ` +
        `fail at random with NotServedError. Give a build with other modules a build id of its own (--build-id, ` +
        `bullmq({ buildId }), RUN_IN_PROCESS_BUILD_ID, or its package's version), or stop the old workers.`,
    );
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
    stats: () => scheduler.stats(),
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
        disconnectAll();
      })();
      return closing;
    },
  };
}

/**
 * What `starting` gives, unless `signal` aborts first: then AbortError, and `starting`, left to fail
 * as its clients are closed, is heard by no one.
 */
function unlessAborted<T>(starting: Promise<T>, signal: AbortSignal | undefined, pool: string): Promise<T> {
  if (signal === undefined) return starting;
  starting.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    const abort = () =>
      reject(
        new AbortError(`serve() for pool ${pool} was aborted while the worker started (waiting for Redis).`, {
          cause: reasonOf(signal),
        }),
      );
    if (abortedOf(signal)) return abort();
    const unwatch = watchAbort(signal, abort);
    starting.then(resolve, reject).finally(unwatch);
  });
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
