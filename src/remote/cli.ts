#!/usr/bin/env node
import { clearTimeout, setTimeout, sleep } from '../shared/real-clock.js';
import { bullmq } from './bullmq-transport.js';
import { type RemoteWorker, serve } from './worker.js';
import { moduleImporting } from './allow-list.js';
import { refusedCredentials } from './connection.js';
import { type Flags, parse } from './cli-flags.js';
import { messageOf } from '../codec/describe-thrown.js';

/**
 * `run-in-process worker --connection redis://10.0.0.5:6379 --pool render ./dist/thumbnailer.js`:
 * serves a pool's calls from this machine until SIGTERM, SIGINT or SIGHUP, then finishes (or hands back)
 * the calls it holds and exits.
 */
const usage = `usage: run-in-process worker --connection <redis URL or socket path> --pool <name> [--build-id <id>] [--concurrency <n>]
                          [--size <n>] [--timeout <ms>] [--prefix <prefix>]
                          [--lock-duration <ms>] [--stalled-interval <ms>] [--max-payload-bytes <n>]
                          [--shutdown-deadline <ms>] <module> [<module> …]
  The connection may be given in RUN_IN_PROCESS_CONNECTION instead (a password in a flag shows in ps).
  The secret, if callers sign their calls, is read from RUN_IN_PROCESS_SECRET.
  Neither variable reaches the children that run the calls.`;

/** A worker whose modules have not loaded after this long says so (they may be only slow). */
const loadingNoticeMs = 10_000;

async function main(argv: string[]): Promise<number> {
  // Asked for, the usage is the answer (stdout, success); given instead of a mistake, it is stderr and 2.
  if (asksForHelp(argv) || (argv[0] === 'worker' && asksForHelp(argv.slice(1)))) {
    console.log(usage);
    return 0;
  }
  if (argv[0] !== 'worker') {
    const said = argv[0] === undefined ? 'no command given' : `unknown command "${argv[0]}"`;
    console.error(`run-in-process: ${said}; the command is worker.\n${usage}`);
    return 2;
  }
  let flags: Flags;
  try {
    flags = parse(argv.slice(1));
  } catch (error) {
    console.error(`run-in-process worker: ${(error as Error).message}\n${usage}`);
    return 2;
  }
  const { connection, pool, modules } = flags;
  const secret = process.env['RUN_IN_PROCESS_SECRET'];
  let transport: ReturnType<typeof bullmq>;
  try {
    // An empty secret (an unset variable in a template) would start a worker that takes unsigned calls.
    if (secret === '')
      throw new Error("RUN_IN_PROCESS_SECRET is set, but empty: set it to the callers' secret, or unset it.");
    transport = bullmq({
      connection,
      ...(flags.buildId !== undefined && { buildId: flags.buildId }),
      ...(flags.prefix !== undefined && { prefix: flags.prefix }),
      ...(secret !== undefined && { secret }),
      ...(flags.lockDuration !== undefined && { lockDuration: flags.lockDuration }),
      ...(flags.stalledInterval !== undefined && { stalledInterval: flags.stalledInterval }),
      ...(flags.maxPayloadBytes !== undefined && { maxPayloadBytes: flags.maxPayloadBytes }),
    });
  } catch (error) {
    // A flag's value bullmq() refuses (a connection that does not parse, a payload limit past its
    // bound) is the command's mistake: named by its flag (maxPayloadBytes: --max-payload-bytes).
    const message = (error as Error).message.replace(
      /^bullmq\(options\): ([a-zA-Z]+)/,
      (_, option: string) => `--${option.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`,
    );
    console.error(`run-in-process worker: ${message}\n${usage}`);
    return 2;
  }
  // Listening before saying it is ready: a supervisor may stop it the moment it reads that line. The
  // first signal lets the calls it holds finish (for --shutdown-deadline ms at most); a second does
  // not wait for them: they fail (their callers get PoolClosedError); any later one is only told,
  // since a kill then would leave the jobs it holds to be found lost, seconds later.
  let signals = 0;
  let stop = () => {};
  let serving: RemoteWorker | undefined;
  const stopping = new Promise<'stop'>((resolve) => (stop = () => resolve('stop')));
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      // Said, so that a log shows why it stopped taking jobs, and that it waits for the calls it holds.
      if (serving)
        console.error(
          `run-in-process worker: ${signal}: stopping; it takes no more jobs and finishes the calls it holds` +
            (flags.shutdownDeadline === undefined ? '' : ` (for ${flags.shutdownDeadline} ms at most)`) +
            '. Another signal fails them now.',
        );
      stop();
      return;
    }
    if (signals === 2 && serving) {
      console.error('run-in-process worker: stopping now; the calls it still runs fail with PoolClosedError.');
      void serving.close({ deadline: 0 });
      return;
    }
    console.error('run-in-process worker: already stopping.');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The hangup of the terminal it was started from (an ssh session that ends) ended it at once, the
  // calls it held found lost seconds later: it stops as for SIGTERM.
  process.on('SIGHUP', onSignal);
  /** A connection error was said (onConnectionError): the notice of a slow start need not say it waits. */
  let heardFromRedis = false;
  const starting = serve({
    transport,
    pool,
    modules,
    poolOptions: {
      ...(flags.size !== undefined && { size: flags.size }),
      ...(flags.timeout !== undefined && { timeout: flags.timeout }),
    },
    ...(flags.concurrency !== undefined && { concurrency: flags.concurrency }),
    // A log whose last line says it waits for Redis would say so for good, after Redis came back.
    onConnectionRestored: () =>
      console.error(`run-in-process worker: Redis at ${transport.settings.where} answers again.`),
    onConnectionError: (error) => {
      heardFromRedis = true;
      console.error(
        refusedCredentials(error.message)
          ? `run-in-process worker: Redis at ${transport.settings.where} refused the connection's credentials ` +
              `(${error.message}).`
          : `run-in-process worker: waiting for Redis at ${transport.settings.where} (${error.message}); retrying until it answers.`,
      );
    },
  });
  // A module whose top-level await never settles: with nothing else to wait for, Node would end the
  // process with code 0 (a supervisor's "clean exit"), saying nothing; one that keeps its event loop
  // busy meanwhile would hold it, silent. Both are said, and the first exits with 1.
  const neverLoaded = (): void => {
    const url = moduleImporting();
    console.error(
      `run-in-process worker: ${url ?? 'a module'} never finished loading: it, or a module it imports, awaits at ` +
        'its top level something that never settles. Nothing was served.',
    );
    process.exitCode = 1;
  };
  process.once('beforeExit', neverLoaded);
  const slow = setTimeout(() => {
    const url = moduleImporting();
    // Loaded, and Redis said why it does not answer: that was said.
    if (url === undefined && heardFromRedis) return;
    console.error(
      url === undefined
        ? // Loaded: it waits for Redis, which may accept the connection and never answer (not a Redis server).
          `run-in-process worker: still waiting for Redis at ${transport.settings.where} to answer after ` +
            `${loadingNoticeMs / 1_000} s; check that --connection points to a Redis server.`
        : `run-in-process worker: still loading ${url} after ${loadingNoticeMs / 1_000} s; a top-level await in it, ` +
            'or in a module it imports, may never settle.',
    );
  }, loadingNoticeMs);
  slow.unref();
  const worker = await Promise.race([starting, stopping]).finally(() => {
    process.off('beforeExit', neverLoaded);
    clearTimeout(slow);
  });
  if (worker === 'stop') {
    // Stopped while it still waits for Redis: it took no job, and there is nothing to finish. One
    // about to be ready may have said it is alive already: it is closed, so that callers do not
    // count on it (a second at most: one that waits for Redis may never get there).
    const late = await Promise.race([starting.catch(() => undefined), sleep(1_000, undefined, { ref: false })]);
    await late?.close({ deadline: 0 });
    return 0;
  }
  for (const url of worker.unnamed) {
    console.error(
      `run-in-process worker: ${url} declares targets that no caller can name (it is in no package with a ` +
        `"name", and they have no id): they are not served. Give them an id, or put the module in a package.`,
    );
  }
  if (worker.unrelayed.length > 0) {
    console.error(
      `run-in-process worker: ${worker.unrelayed.join(', ')} ${worker.unrelayed.length === 1 ? 'streams its results or takes' : 'stream their results or take'} callbacks, which a remote ` +
        `pool cannot relay yet: they are not served (a caller refuses their calls, saying so).`,
    );
  }
  console.log(
    `run-in-process worker ready: pool ${pool}, ${count(worker.served.length, 'target')} from ${count(modules.length, 'module')} ` +
      `(queue ${worker.queueName}, worker ${worker.name})`,
  );
  serving = worker;
  await stopping;
  await worker.close(flags.shutdownDeadline === undefined ? {} : { deadline: flags.shutdownDeadline });
  return 0;
}

function asksForHelp(args: string[]): boolean {
  return args.length === 1 && (args[0] === '--help' || args[0] === '-h');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = messageOf(error);
    const fix = refusedCredentials(message)
      ? ' Give the user and password of an ACL user in --connection (redis://user:password@host:port).'
      : '';
    console.error(`run-in-process worker: ${message}${fix}`);
    process.exit(1);
  },
);
