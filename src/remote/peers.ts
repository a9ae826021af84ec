import { createRequire } from 'node:module';

/**
 * BullMQ and ioredis are optional peer dependencies: only an app that uses `run-in-process/bullmq`
 * installs them, and they load only when it first makes a transport. They are CommonJS, required
 * synchronously, so that a missing one is an error at `bullmq()` that says what to install.
 */
export type BullMQ = typeof import('bullmq');
export type IORedisModule = typeof import('ioredis');

const require = createRequire(import.meta.url);

export function loadBullMQ(): { bullmq: BullMQ; Redis: IORedisModule['default'] } {
  return { bullmq: peer<BullMQ>('bullmq'), Redis: peer<IORedisModule>('ioredis').default };
}

function peer<T>(name: string): T {
  try {
    return require(name) as T;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
    throw Object.assign(
      new Error(
        `run-in-process/bullmq needs the packages bullmq (6.x) and ioredis (5.x), which are optional peer ` +
          `dependencies: install them with \`npm install bullmq@6 ioredis@5\` (it could not load ${name}).`,
        { cause: error },
      ),
      { code: 'ERR_MISSING_PEER' },
    );
  }
}
