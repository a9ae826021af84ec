import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

/**
 * The machinery around the example: a redis-server of its own, the app "deployed" to other folders
 * as it would be to other machines, and workers started there with the library's command. None of
 * it is needed in production, where Redis and the workers run as services.
 */

/** A clean environment for what runs "on another machine": none of the variables `npm start` set here. */
const machineEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_|INIT_CWD$)/i.test(name)));

const execFileAsync = promisify(execFile);
/** The npm and tar commands of the deploy that are running, for `stopDeploys()`. */
const commands = new Set<ChildProcess>();

async function run(command: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  const running = execFileAsync(command, args, { ...options, env: machineEnv, encoding: 'utf8' });
  commands.add(running.child);
  try {
    return (await running).stdout;
  } finally {
    commands.delete(running.child);
  }
}

/** Stops the deploy's commands still running (on Ctrl-C), and waits until they have exited. */
export async function stopDeploys(): Promise<void> {
  await Promise.all([...commands].map((command) => stop(command, 'SIGTERM')));
}

/** The version line of the redis-server on the PATH, or undefined when there is none. */
export function redisServerVersion(): string | undefined {
  const result = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return result.stdout.match(/v=(\S+)/)?.[1] ?? 'unknown';
}

/** Starts redis-server on a Unix socket in `dir` (no TCP port, no persistence); `ready` resolves once it answers PING. */
export function startRedis(dir: string): { server: ChildProcess; socket: string; ready: Promise<void> } {
  const socket = join(dir, 'redis.sock');
  const server = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--unixsocket',
      socket,
      '--unixsocketperm',
      '700',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  );
  const ready = (async () => {
    const deadline = Date.now() + 10_000;
    while (!(existsSync(socket) && (await ping(socket)))) {
      if (server.exitCode !== null) throw new Error(`redis-server exited with code ${server.exitCode}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${socket} within 10 s`);
      await sleep(20);
    }
  })();
  return { server, socket, ready };
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const connection = createConnection(socket);
    connection.once('error', () => resolve(false));
    connection.once('data', (data) => {
      connection.destroy();
      resolve(String(data).startsWith('+PONG'));
    });
    connection.write('PING\r\n');
  });
}

/** Packs the app as a deploy would ship it (`npm pack`: its package.json and `build/`); returns the tarball. */
export async function packApp(appDir: string, destination: string): Promise<string> {
  const stdout = await run('npm', ['pack', appDir, '--pack-destination', destination, '--silent']);
  return join(destination, stdout.trim().split('\n').pop()!);
}

/**
 * "Another machine": unpacks the app's tarball into `machineDir` and installs its dependencies there
 * (bullmq, ioredis, and run-in-process from `libraryTarball`, where a real deploy would take it from
 * the registry). From npm's cache when it can: `npm start` here has just installed the same versions.
 */
export async function deploy(appTarball: string, libraryTarball: string, machineDir: string): Promise<string> {
  mkdirSync(machineDir, { recursive: true });
  await run('tar', ['-xzf', appTarball, '-C', machineDir]);
  const app = join(machineDir, 'package');
  const options = { cwd: app };
  await run('npm', ['pkg', 'set', `dependencies.run-in-process=file:${libraryTarball}`], options);
  await run(
    'npm',
    ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'],
    options,
  );
  return app;
}

export interface Worker {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The line it prints once it listens. */
  readonly ready: Promise<string>;
  /** What it printed so far (shown if something goes wrong). */
  output(): string;
}

/**
 * Starts `run-in-process worker …` from the app's folder, as one would on a worker machine
 * (`npx run-in-process worker …`; the bin is started directly, so that its pid is the worker's own),
 * and `ready` waits for its ready line.
 */
export function startWorker(name: string, app: string, args: string[]): Worker {
  const bin = join(app, 'node_modules', '.bin', 'run-in-process');
  const child = spawn(bin, ['worker', ...args], { cwd: app, env: machineEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`));
    child.once('error', (error) => resolve(`error ${error.message}`));
  });
  const ready = (async () => {
    const deadline = Date.now() + 30_000;
    let line: string | undefined;
    while (!(line = output.match(/^run-in-process worker ready: .*$/m)?.[0])) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        throw new Error(`worker ${name} stopped before it was ready (${await exited}):\n${output}`);
      }
      if (Date.now() > deadline) throw new Error(`worker ${name} was not ready within 30 s:\n${output}`);
      await sleep(20);
    }
    return line;
  })();
  ready.catch(() => {}); // Awaited by the caller; a worker stopped on Ctrl-C before it was ready is no error.
  return { name, process: child, pid: child.pid ?? -1, ready, output: () => output };
}

/** Sends `signal` and waits for the process to exit; SIGKILL after `ms`. Returns how it ended. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals, ms = 15_000): Promise<string> {
  if (child.pid === undefined) return 'never started';
  const exited = new Promise<string>((resolve) => {
    if (child.signalCode !== null) resolve(`signal ${child.signalCode}`);
    else if (child.exitCode !== null) resolve(`code ${child.exitCode}`);
    child.once('exit', (code, sig) => resolve(sig ? `signal ${sig}` : `code ${code}`));
  });
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** True while a process with this pid exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits up to `ms` for all these pids to be gone; returns those still there. */
export async function gone(pids: number[], ms = 5_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = left.filter(alive);
  }
  return left;
}
