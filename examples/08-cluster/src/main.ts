import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configure, ProcessCrashedError, shutdown } from 'run-in-process';
import { bullmq } from 'run-in-process/bullmq';
import {
  deploy,
  gone,
  packApp,
  redisServerVersion,
  startRedis,
  startWorker,
  stop,
  stopDeploys,
  type Worker,
} from './cluster.js';
import { digestOf, type Rendered, Renderer, SceneError } from './render.js';

const exampleDir = fileURLToPath(new URL('..', import.meta.url));
const BUILD = 'example-1';

const redisVersion = redisServerVersion();
if (!redisVersion) {
  console.error(
    'redis-server is not on the PATH. This example starts a Redis of its own from it, on a Unix socket in a\n' +
      'temporary folder. Install it (Debian, Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`)\n' +
      'and run `npm start` again.',
  );
  process.exit(1);
}

const scratch = mkdtempSync(join(tmpdir(), 'cluster-example-'));
let redis: ChildProcess | undefined;
const workers: Worker[] = [];
/** Every process this run started or caused (workers' children included), checked at the end. */
const pids = new Set<number>();

let cleaning: Promise<boolean> | undefined;
let interrupted = false;
/** Stops everything that was started, whatever state the run is in; says whether all of it is gone. */
function cleanup(): Promise<boolean> {
  const attempt = async (what: string, step: () => Promise<unknown>) => {
    try {
      await step();
    } catch (error) {
      console.error(`while stopping, ${what} failed: ${String(error)}`);
    }
  };
  cleaning ??= (async () => {
    await attempt('the deploy', stopDeploys);
    await attempt('shutdown()', shutdown); // The caller's Redis connections.
    // A worker finishes the calls it holds, stops its children, and exits.
    await attempt('stopping the workers', async () => {
      const ends = await Promise.all(workers.map((w) => stop(w.process, 'SIGTERM')));
      if (workers.length > 0) console.log(ends.map((end, i) => `worker ${workers[i]!.name} exited: ${end}`).join(', '));
    });
    if (redis) await attempt('stopping redis-server', () => stop(redis!, 'SIGTERM'));
    rmSync(scratch, { recursive: true, force: true });
    const left = await gone([...pids]);
    console.log(`all processes reaped: ${left.length === 0 ? 'yes' : `no, still running: ${left.join(' ')}`}`);
    return left.length === 0;
  })();
  return cleaning;
}
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping the workers and redis-server`);
    void cleanup().finally(() => process.exit(code));
  });
}

try {
  console.log(`caller pid ${process.pid} on ${hostname()}`);

  // 1. Redis, from the PATH, on a Unix socket in a folder of its own.
  const started = startRedis(scratch);
  redis = started.server;
  pids.add(redis.pid!);
  await started.ready;
  console.log(`redis-server ${redisVersion} (pid ${redis.pid}) on ${started.socket}`);

  // 2. The app, packed and installed in two other folders, as a deploy would put it on two machines.
  const since = Date.now();
  const appTarball = await packApp(exampleDir, scratch);
  const { version } = JSON.parse(readFileSync(join(exampleDir, 'node_modules/run-in-process/package.json'), 'utf8'));
  const libraryTarball = join(exampleDir, `run-in-process-${version}.tgz`);
  const machines = await Promise.all(
    ['machine-a', 'machine-b'].map((m) => deploy(appTarball, libraryTarball, join(scratch, m))),
  );
  console.log(`deployed ${appTarball.split('/').pop()} to 2 folders in ${((Date.now() - since) / 1000).toFixed(1)} s`);

  // 3. A worker in each: `run-in-process worker --connection … --pool render build/render.js`.
  // biome-ignore format: a flag and its value per pair, as one would type them
  const args = ['--connection', started.socket, '--pool', 'render', '--build-id', BUILD, '--size', '2', 'build/render.js'];
  console.log(`in each folder: run-in-process worker ${args.join(' ')}`);
  for (const [i, app] of machines.entries()) {
    const worker = startWorker('AB'[i]!, app, args);
    workers.push(worker);
    pids.add(worker.pid);
    console.log(`worker ${worker.name} (pid ${worker.pid}) in ${app}: ${await worker.ready}`);
  }

  // 4. The caller: only the configuration says the calls go to Redis.
  configure('render', { transport: bullmq({ connection: { path: started.socket }, buildId: BUILD }), timeout: 20_000 });
  const renderer = new Renderer();
  const nameOf = (r: Rendered) => workers.find((w) => w.pid === r.workerPid)?.name ?? `unknown (ppid ${r.workerPid})`;
  const tally = (results: Rendered[]) => {
    for (const r of results) pids.add(r.pid);
    const correct = results.filter((r) => r.digest === digestOf(r.tile)).length;
    return { correct, by: (name: string) => results.filter((r) => nameOf(r) === name) };
  };

  const batchStarted = Date.now();
  const batch = await Promise.all(Array.from({ length: 24 }, (_, tile) => renderer.render(tile)));
  const seconds = ((Date.now() - batchStarted) / 1000).toFixed(1);
  const first = tally(batch);
  console.log(`24 render calls at once: ${first.correct} correct (checked inline), in ${seconds} s`);
  for (const worker of workers) {
    const served = first.by(worker.name);
    const children = new Set(served.map((r) => r.pid)).size;
    console.log(`worker ${worker.name} (pid ${worker.pid}) served ${served.length} calls, in ${children} children`);
  }
  console.log(`both workers served calls: ${workers.every((w) => first.by(w.name).length > 0) ? 'yes' : 'no'}`);

  // 5. A child dies on a worker: the call fails with ProcessCrashedError, saying on which host and
  // which worker; the worker replaces the child and goes on serving.
  try {
    await renderer.crash();
    console.log('crash -> no error?');
  } catch (error) {
    if (!(error instanceof ProcessCrashedError)) throw error;
    // The worker's name in the queue is `<host>:<pid>`.
    const worker = workers.find((w) => error.worker === `${error.host}:${w.pid}`)?.name ?? `unknown (${error.worker})`;
    console.log(
      `crash -> ProcessCrashedError on host ${error.host}, worker ${worker}, signal ${error.signal}, target ${error.target}`,
    );
  }
  const after = await Promise.all(Array.from({ length: 8 }, (_, i) => renderer.render(100 + i)));
  const second = tally(after);
  const by = workers.map((w) => `${w.name} ${second.by(w.name).length}`).join(', ');
  console.log(`after the crash: ${second.correct}/8 correct, served by ${by}`);
  console.log(`workers still running: ${workers.every((w) => w.process.exitCode === null) ? 'yes' : 'no'}`);

  // 6. The app's own error class comes back as that class, with its fields and its cause.
  try {
    await renderer.renderScene(7, '{ "sky": ');
  } catch (error) {
    if (!(error instanceof SceneError)) throw error;
    const cause = error.cause instanceof Error ? error.cause.constructor.name : typeof error.cause;
    console.log(`renderScene -> SceneError "${error.message}" (tile ${error.tile}), cause ${cause}`);
  }
} catch (error) {
  if (interrupted) await new Promise(() => {}); // The signal handler finishes and exits.
  console.error(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  for (const worker of workers) console.error(`--- worker ${worker.name} printed ---\n${worker.output()}`);
  process.exitCode = 1;
} finally {
  if (!(await cleanup())) process.exitCode = 1;
}
