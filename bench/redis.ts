import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Reaped, spawnReaped } from './reaper.js';

/**
 * A real redis-server for the remote section (a small copy of test/helpers/redis.ts: the bench
 * cannot import test code), on a Unix socket in a folder of its own, killed by its pid (reaper.ts). No
 * persistence: both contenders share it, and an fsync per write would measure the disk.
 */
export interface RedisServer {
  readonly socket: string;
  readonly pid: number;
  /** Kills it and removes its folder; safe to call twice. */
  stop(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'rip-bench-redis-'));
  const socket = join(dir, 'redis.sock');
  const server = spawnReaped(
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
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  // The reaper kills the server however the bench ends; its folder goes too.
  process.once('exit', removeDir);
  const stop = async (): Promise<void> => {
    await server.stop(1_000);
    process.off('exit', removeDir);
    removeDir();
  };
  try {
    await waitForPong(socket, server);
  } catch (error) {
    await stop();
    throw error;
  }
  return { socket, pid: server.child.pid ?? -1, stop };
}

async function waitForPong(socket: string, { child }: Reaped, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (code ${child.exitCode}) before it answered`);
    if (existsSync(socket) && (await ping(socket))) return;
    await sleep(20);
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
