import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real redis-server (Debian's package; `.ci/run` installs it), started by a test on a Unix socket
 * in a folder of its own, and killed by its pid. Never a mock: the remote transport is about what
 * Redis does (blocking reads, streams, locks, persistence).
 */
export interface RedisServer {
  readonly socket: string;
  readonly pid: number;
  /** Stops it (SIGKILL: as a crash would, with nothing flushed beyond what appendfsync wrote). */
  kill(): Promise<void>;
  /** Starts it again on the same socket and folder: with `persistence`, it reloads its append-only file. */
  restart(): Promise<void>;
  /** Kills it and removes its folder. */
  stop(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startRedis({ persistence = true } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'rip-redis-'));
  const socket = join(dir, 'redis.sock');
  let server: ChildProcess;
  const start = async (): Promise<void> => {
    server = spawn(
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
        persistence ? 'yes' : 'no',
        '--appendfsync',
        'always',
      ],
      { stdio: 'ignore' },
    );
    await waitForPong(socket);
  };
  const kill = async (): Promise<void> => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
  };
  await start();
  // A suite whose own set-up failed after this started (a worker that could not start) may never
  // stop it: it goes with the test process, not left running for good.
  process.once('exit', () => {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    socket,
    get pid() {
      return server.pid ?? -1;
    },
    kill,
    restart: start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the server answers PING on its socket (it loads its data first). */
async function waitForPong(socket: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (existsSync(socket) && (await ping(socket))) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`redis-server did not answer on ${socket} within ${ms} ms`);
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
