import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fixtureUrl } from '../helpers/fixtures.js';
import { redisServerAvailable, type RedisServer, startRedis } from '../helpers/redis.js';
import { runScript } from '../helpers/scripts.js';

// serve() embedded in an app, each case in a process of its own (the registry of decorated targets
// is the process's): what it serves, and what it refuses to start with. Its Redis is real.

const skip = redisServerAvailable() ? false : 'redis-server is not installed (apt-get install redis-server)';

describe('a worker started with serve()', { skip }, () => {
  let redis: RedisServer;

  before(async () => {
    redis = await startRedis({ persistence: false });
  });

  after(async () => {
    await redis?.stop();
  });

  /** Runs `body` in a script where `transport` is a bullmq transport on this Redis, and `serve` is imported. */
  const script = (body: string) =>
    runScript(
      `const { bullmq, serve } = await import('run-in-process/bullmq');
       const transport = bullmq({ connection: { path: ${JSON.stringify(redis.socket)} }, buildId: 'serve-test' });
       const served = (worker) => worker.served.map((key) => key.slice(key.indexOf('#') + 1)).sort().join(', ');
       ${body}`,
      { timeout: 20_000 },
    );

  test("serves the targets its modules registered for its pool: not the app's own modules, nor other pools'", () => {
    const run = script(
      `await import(${JSON.stringify(fixtureUrl('standard', 'values'))}); // The app's own, pool default.
       const modules = [${JSON.stringify(fixtureUrl('standard', 'remote-pools'))}];
       const px = await serve({ transport, pool: 'px', modules });
       console.log('px:', served(px));
       // Imported by the app already: the module given is served all the same.
       const fallback = await serve({ transport, pool: 'default', modules });
       console.log('default:', served(fallback));
       await Promise.all([px.close(), fallback.close()]);`,
    );
    assert.equal(run.status, 0, run.report);
    assert.match(run.stdout, /^px: PxClass\.fromClass, fromDependency, inPx$/m, run.report);
    assert.match(run.stdout, /^default: DefaultClass\.plain, inDefault$/m, run.report);
  });
});
