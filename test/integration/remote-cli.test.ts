import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixtureUrl, repoRoot } from '../helpers/fixtures.js';

// The worker command's flags, checked before it imports a module or reaches Redis: no redis-server
// is needed, and none is reached (the socket path below leads nowhere).

const cli = join(repoRoot, 'dist', 'remote', 'cli.js');

function worker(...flags: string[]) {
  const args = ['worker', '--connection', '/nowhere/redis.sock', '--pool', 'default', ...flags];
  return spawnSync(process.execPath, [cli, ...args, new URL(fixtureUrl('standard', 'values')).pathname], {
    encoding: 'utf8',
    timeout: 10_000,
  });
}

test('a numeric flag given text that is not a whole number in range is a usage error naming the flag and the text', () => {
  const cases: Array<[string[], string]> = [
    [['--size', 'abc'], '--size must be a whole number from 1 to 1024 (got "abc")'],
    [['--size', '2000'], '--size must be a whole number from 1 to 1024 (got "2000")'],
    [['--concurrency', 'abc'], '--concurrency must be a whole number above 0 (got "abc")'],
    [['--concurrency', '0'], '--concurrency must be a whole number above 0 (got "0")'],
    [['--concurrency=-1'], '--concurrency must be a whole number above 0 (got "-1")'],
    [['--concurrency', '1.5'], '--concurrency must be a whole number above 0 (got "1.5")'],
    [['--timeout', '10s'], '--timeout must be a whole number from 1 to 2147483647 (got "10s")'],
    [['--max-payload-bytes', '1e6'], '--max-payload-bytes must be a whole number above 0 (got "1e6")'],
  ];
  for (const [flags, message] of cases) {
    const run = worker(...flags);
    assert.equal(run.status, 2, `${flags.join(' ')}: ${run.stderr}`);
    assert.ok(run.stderr.startsWith(`run-in-process worker: ${message}.\nusage:`), run.stderr);
    assert.equal(run.stdout, '');
  }
});

test('an empty value is refused, not taken for the default: --build-id "" does not fall back to the package version', () => {
  for (const flag of ['--build-id', '--prefix', '--size']) {
    const run = worker(flag, '');
    assert.equal(run.status, 2, `${flag}: ${run.stderr}`);
    assert.ok(run.stderr.startsWith(`run-in-process worker: ${flag} needs a value; it was given an empty one.`));
  }
});
