import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// How a connection string given to bullmq() (or the CLI's --connection) is read (remote/connection.ts).

type ConnectionModule = typeof import('../../build/lib/remote/connection.js');
const { checkedConnection } = await internal<ConnectionModule>('remote/connection.js');

test('host:port and Redis URLs go to ioredis as URLs; the password is masked where it is shown, wherever it was given', () => {
  for (const given of [
    'localhost:6379',
    'redis-host:6380',
    'my.redis.internal:6380',
    '127.0.0.1:6379',
    'localhost',
    '[::1]:6379',
    'localhost:6379/2',
  ]) {
    assert.deepEqual(checkedConnection(given), { connection: `redis://${given}`, where: given }, given);
  }
  assert.deepEqual(checkedConnection('admin:hunter2@127.0.0.1:6379'), {
    connection: 'redis://admin:hunter2@127.0.0.1:6379',
    where: 'admin:***@127.0.0.1:6379',
  });
  assert.equal(
    checkedConnection('redis://127.0.0.1:6379?password=hunter2&sentinelPassword=x').where,
    'redis://127.0.0.1:6379?password=***&sentinelPassword=***',
  );
  assert.equal(checkedConnection('redis://app:s3:cret@10.0.0.5:6379/2').where, 'redis://app:***@10.0.0.5:6379/2');
  // A port alone is on this machine, as ioredis reads it.
  assert.equal(checkedConnection('6380').connection, 'redis://localhost:6380');
  assert.deepEqual(checkedConnection('redis://app:s3cret@10.0.0.5:6379/2'), {
    connection: 'redis://app:s3cret@10.0.0.5:6379/2',
    where: 'redis://app:***@10.0.0.5:6379/2',
  });
  assert.equal(checkedConnection('rediss://cache.example:6380').connection, 'rediss://cache.example:6380');
});

test('a socket path, relative or absolute, or a unix:// URL, is a Unix socket', () => {
  assert.deepEqual(checkedConnection('../r.sock').connection, { path: resolve('../r.sock') });
  assert.deepEqual(checkedConnection('redis.sock').connection, { path: resolve('redis.sock') });
  assert.deepEqual(checkedConnection('/run/redis/redis.sock').connection, { path: '/run/redis/redis.sock' });
  assert.deepEqual(checkedConnection('unix:///tmp/r.sock'), {
    connection: { path: '/tmp/r.sock' },
    where: 'unix:/tmp/r.sock',
  });
  // The database, user and password a query gives, as ioredis reads them after a unix:// URL.
  assert.deepEqual(checkedConnection('/tmp/r.sock?db=1&username=app&password=s3cret'), {
    connection: { path: '/tmp/r.sock', db: 1, username: 'app', password: 's3cret' },
    where: 'unix:/tmp/r.sock db 1',
  });
  assert.deepEqual(checkedConnection('unix:/tmp/r.sock').connection, { path: '/tmp/r.sock' });
  assert.deepEqual(checkedConnection('~/r.sock').connection, { path: join(homedir(), 'r.sock') });
});

test('a URL that does not parse, or of another scheme, is refused at once, its password masked', () => {
  const refused = (given: string, pattern: RegExp) =>
    assert.throws(
      () => checkedConnection(given),
      (error: unknown) =>
        error instanceof TypeError &&
        (error as { code?: string }).code === 'ERR_INVALID_OPTION' &&
        pattern.test(error.message) &&
        !error.message.includes('pa ss'),
      given,
    );
  refused('redis://user:pa ss@[bad', /connection "redis:\/\/user:\*\*\*@\[bad" is not a URL that parses/);
  refused('http://localhost:6379', /is not a Redis URL\. Expected 'redis:\/\/.*'host:port'/);
  // An unset variable is not localhost; a typo is not a path, nor a host.
  refused('', /connection "" is empty/);
  refused('localhost:6379x', /is not a host and port that parse/);
  for (const mistyped of ['redis:/localhost:6379', 'redis:localhost:6379', 'rediss//localhost:6379']) {
    refused(mistyped, /looks like a URL whose scheme is mistyped/);
  }
  refused(
    '/tmp/r.sock?timeout=5',
    /has a query that a socket path does not take \(timeout; only db, username and password\)/,
  );
  refused('redis://host/abc', /names a database that is no number/);
  refused('::1', /an IPv6 address goes in brackets: \[::1\]:6379/);
  // A mistyped scheme before a password: refused, and the password never shown.
  for (const mistyped of ['rediss//user:pa ss@host:6379', 'redis//:pa ss@host', 'redis:pa ss@host:6379']) {
    refused(mistyped, /looks like a URL whose scheme is mistyped/);
  }
  refused('user:pa ss@host:1x', /connection "user:\*\*\*@host:1x" is not a host and port that parse/);
});
