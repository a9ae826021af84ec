import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixtureUrl, repoRoot, scratchFile } from '../helpers/fixtures.js';

// The worker command's flags, checked before it imports a module or reaches Redis: no redis-server
// is needed, and none is reached (the socket path below leads nowhere).

const cli = join(repoRoot, 'dist', 'remote', 'cli.js');

const module = new URL(fixtureUrl('standard', 'values')).pathname;

function worker(...flags: string[]) {
  return command('--connection', '/nowhere/redis.sock', '--pool', 'default', ...flags, module);
}

function command(...args: string[]) {
  return spawnSync(process.execPath, [cli, 'worker', ...args], { encoding: 'utf8', timeout: 10_000 });
}

function refuses(run: ReturnType<typeof command>, message: string): void {
  assert.equal(run.status, 2, run.stderr);
  assert.ok(run.stderr.startsWith(`run-in-process worker: ${message}\nusage:`), run.stderr);
  assert.equal(run.stdout, '');
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
    [['--max-payload-bytes', '1e6'], '--max-payload-bytes must be a whole number from 1 to 268435456 (got "1e6")'],
    [
      ['--max-payload-bytes', '268435457'],
      '--max-payload-bytes must be a whole number from 1 to 268435456 (got "268435457")',
    ],
    // Node would wait 1 ms instead, and the worker would renew its locks and check stalls without pause.
    [
      ['--lock-duration', '2147483648'],
      '--lock-duration must be a whole number from 1 to 2147483647 (got "2147483648")',
    ],
    [
      ['--stalled-interval', '2147483648'],
      '--stalled-interval must be a whole number from 1 to 2147483647 (got "2147483648")',
    ],
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

test('--shutdown-deadline takes a whole number of milliseconds, 0 included (as close({ deadline: 0 }))', () => {
  refuses(
    worker('--shutdown-deadline=-1'),
    '--shutdown-deadline must be a whole number from 0 to 2147483647 (got "-1").',
  );
  refuses(
    worker('--shutdown-deadline', '2s'),
    '--shutdown-deadline must be a whole number from 0 to 2147483647 (got "2s").',
  );
});

test('a flag given twice is refused, naming it, rather than the last one silently winning', () => {
  refuses(worker('--size', '0', '--size', '2'), '--size was given twice ("0" and "2"); give it once.');
  refuses(worker('--pool', 'other'), '--pool was given twice ("default" and "other"); give it once.');
});

test("--pool and --build-id with ':' or '@' are refused before starting, naming the flag", () => {
  refuses(
    worker('--build-id', 'a@b'),
    `--build-id cannot contain ':' or '@' (got "a@b"): it would name another pool's queue. Use letters, digits, '.', '-' or '_'.`,
  );
  const run = command('--connection', '/nowhere/redis.sock', '--pool', 'a:b', module);
  refuses(
    run,
    `--pool cannot contain ':' or '@' (got "a:b"): it would name another pool's queue. Use letters, digits, '.', '-' or '_'.`,
  );
});

test('a --connection that does not parse, and an empty RUN_IN_PROCESS_SECRET, are usage errors naming them', () => {
  for (const [connection, why] of [
    ['redis:/localhost', 'looks like a URL whose scheme is mistyped.'],
    ['localhost:notaport', 'looks like a URL whose scheme is mistyped, or a host whose port is not a number.'],
    ['http://host', 'is not a Redis URL.'],
  ]) {
    const run = command('--connection', connection!, '--pool', 'default', module);
    assert.equal(run.status, 2, run.stderr);
    assert.ok(
      run.stderr.startsWith(`run-in-process worker: --connection ${JSON.stringify(connection)} ${why}`),
      run.stderr,
    );
    assert.match(run.stderr, /\nusage: /);
  }
  // An unset variable in a template: a worker that took unsigned calls would be started.
  const run = spawnSync(
    process.execPath,
    [cli, 'worker', '--connection', '/nowhere/redis.sock', '--pool', 'default', module],
    {
      encoding: 'utf8',
      timeout: 10_000,
      env: { ...process.env, RUN_IN_PROCESS_SECRET: '' },
    },
  );
  refuses(run, `RUN_IN_PROCESS_SECRET is set, but empty: set it to the callers' secret, or unset it.`);
});

test('the usage error says which of --connection, --pool and a module is missing', () => {
  const needed = '--connection, --pool and at least one module are needed; missing:';
  // The value of --size forgotten: the module was taken for it.
  refuses(
    command('--connection', '/nowhere/redis.sock', '--pool', 'default', '--size', module),
    `${needed} a module (was it taken as the value of a flag?).`,
  );
  refuses(command('--pool', 'default', module), `${needed} --connection (or RUN_IN_PROCESS_CONNECTION).`);
  refuses(command(module), `${needed} --connection (or RUN_IN_PROCESS_CONNECTION), --pool.`);
});

test('the connection may come from RUN_IN_PROCESS_CONNECTION instead of --connection (a password in a flag shows in ps)', () => {
  const hangs = `${scratchFile('awaits-for-ever')}.mjs`;
  writeFileSync(hangs, 'await new Promise(() => {});\n');
  const run = spawnSync(process.execPath, [cli, 'worker', '--pool', 'default', hangs], {
    encoding: 'utf8',
    timeout: 10_000,
    env: { ...process.env, RUN_IN_PROCESS_CONNECTION: '/nowhere/redis.sock' },
  });
  // Past the flags: it went on to import the module (which never loads), not to a usage error.
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /never finished loading/);
});

test('--help (or -h) prints the usage on stdout and succeeds, with or without the worker command', () => {
  for (const args of [['worker', '--help'], ['worker', '-h'], ['--help']]) {
    const run = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(run.status, 0, `${args.join(' ')}: ${run.stderr}`);
    assert.ok(run.stdout.startsWith('usage: run-in-process worker --connection'), run.stdout);
    assert.equal(run.stderr, '');
  }
  // Anything else is still a mistake, said before the usage.
  const bare = spawnSync(process.execPath, [cli], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(bare.status, 2);
  assert.ok(bare.stderr.startsWith('run-in-process: no command given; the command is worker.\nusage:'), bare.stderr);
  const typo = spawnSync(process.execPath, [cli, 'wrker', '--pool', 'default'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(typo.status, 2);
  assert.ok(
    typo.stderr.startsWith('run-in-process: unknown command "wrker"; the command is worker.\nusage:'),
    typo.stderr,
  );
});

test('a module whose top-level await never settles ends the worker with code 1, naming it, not with a silent 0', () => {
  const hangs = `${scratchFile('awaits-for-ever')}.mjs`;
  writeFileSync(hangs, 'await new Promise(() => {});\n');
  const run = command('--connection', '/nowhere/redis.sock', '--pool', 'default', hangs);
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /run-in-process worker: file:\/\/.*awaits-for-ever.* never finished loading/);
  assert.equal(run.stdout, '');
});
