import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { runInProcess } from 'run-in-process';

export interface Rendered {
  tile: number;
  digest: string;
  /** Where it ran: the machine, the child process, and the worker process that forked that child. */
  host: string;
  pid: number;
  workerPid: number;
}

/** Some visible CPU work (about 25 ms): a chain of SHA-256 hashes. The caller checks the result inline. */
export function digestOf(tile: number, rounds = 30_000): string {
  let digest = createHash('sha256').update(`tile ${tile}`).digest();
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest();
  return digest.toString('hex').slice(0, 16);
}

/** An error class of the app: exported, so that it comes back to the caller as this class. */
export class SceneError extends Error {
  override name = 'SceneError';
  constructor(
    message: string,
    readonly tile: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The caller and every worker import this same module, each from its own install of the app: a call
 * names its target `cluster-example:build/render.js#Renderer.render`, wherever the file is.
 */
export class Renderer {
  @runInProcess({ pool: 'render' })
  async render(tile: number): Promise<Rendered> {
    return { tile, digest: digestOf(tile), host: hostname(), pid: process.pid, workerPid: process.ppid };
  }

  /** Dies as a native crash would: the worker answers with ProcessCrashedError and goes on serving. */
  @runInProcess({ pool: 'render' })
  async crash(): Promise<never> {
    process.kill(process.pid, 'SIGKILL');
    return new Promise<never>(() => {});
  }

  /** Throws the app's own error, with a cause. */
  @runInProcess({ pool: 'render' })
  async renderScene(tile: number, scene: string): Promise<unknown> {
    try {
      return JSON.parse(scene);
    } catch (cause) {
      throw new SceneError(`tile ${tile}: the scene does not parse`, tile, { cause });
    }
  }
}
