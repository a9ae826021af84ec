import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { configure, runInProcess, shutdown, withCallOptions } from 'run-in-process';
import { internal } from '../helpers/internal.js';

// Options are checked where they are given, against one table per kind (src/options.ts): no child
// process is started by any of these.

const longestTimer = 2 ** 31 - 1;

/** Asserts the error `run` throws; returns its message. */
function refused(run: () => unknown, kind: typeof TypeError | typeof RangeError, message: RegExp): string {
  let text = '';
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof kind, `a ${kind.name}, not ${String(error)}`);
    assert.equal((error as { code?: unknown }).code, 'ERR_INVALID_OPTION');
    text = (error as Error).message;
    assert.match(text, message);
    return true;
  });
  return text;
}

test('times of 2³¹ ms or more are refused, since Node would fire such a timer at once', async () => {
  refused(() => configure('options-times', { timeout: 2 ** 31 }), RangeError, /timeout must be .* at most 2147483647/);
  refused(() => configure('options-times', { idleTimeout: 2 ** 40 }), RangeError, /idleTimeout/);
  refused(() => withCallOptions({ timeout: 2 ** 31 }, () => 1), RangeError, /timeout/);
  refused(() => runInProcess({ timeout: 2 ** 31 }), RangeError, /timeout/);
  await assert.rejects(shutdown({ deadline: 2 ** 31 }), RangeError);
  // A number that is not finite is out of range, as for every option that takes a number.
  refused(
    () => withCallOptions({ priority: Infinity }, () => 1),
    RangeError,
    /priority must be a number from -\d+ to \d+/,
  );
  refused(
    () => withCallOptions({ priority: 2 ** 53 }, () => 1),
    RangeError,
    /priority must be a number from -\d+ to \d+/,
  );
  refused(() => withCallOptions({ priority: -(2 ** 53) }, () => 1), RangeError, /priority/);
  refused(() => runInProcess({ priority: -Infinity }), RangeError, /priority/);
  refused(() => withCallOptions({ priority: '1' as never }, () => 1), TypeError, /priority/);
  configure('options-times', { timeout: longestTimer, idleTimeout: 0 });
});

test('an env that is an array, a Map or a Date, and a heap limit a child could not boot with, are refused', () => {
  // Accepted, they started children with no environment at all, and with Node's default heap limit.
  for (const env of [['A=1'], new Map([['A', '1']]), new Date(), { A: 1 }]) {
    refused(
      () => configure('options-env', { env: env as unknown as Record<string, string> }),
      TypeError,
      /env must be an object whose values are strings/,
    );
  }
  configure('options-env', { env: process.env });
  // Any object's own strings, of any realm: a vm context's, a test runner's.
  configure('options-env', { env: runInNewContext('({ A: "1" })') as Record<string, string> });
  configure('options-env', { env: Object.assign(Object.create(null) as Record<string, string>, { A: '1' }) });
  for (const maxMemoryMb of [0.5, 1, 7.9]) {
    refused(
      () => configure('options-env', { maxMemoryMb }),
      RangeError,
      /maxMemoryMb must be a number of MiB, at least 8/,
    );
  }
  configure('options-env', { maxMemoryMb: 8 });
});

test('an environment string or a flag of 128 KiB or more is refused on Linux, where no child could start with it', {
  skip: process.platform === 'linux' ? false : "the limit checked is Linux's",
}, () => {
  // Accepted, every fork failed (E2BIG), and tinypool failed each later call with a TypeError of its own.
  refused(
    () => configure('options-env', { env: { BIG: 'x'.repeat(200_000) } }),
    RangeError,
    /env\["BIG"\] takes 200005 bytes, and Linux starts no process with an environment string or an argument of 128 KiB or more \(E2BIG\)/,
  );
  refused(
    () => configure('options-env', { execArgv: [`--title=${'x'.repeat(131_072)}`] }),
    RangeError,
    /execArgv\[0\] takes 131081 bytes/,
  );
  // The key is named, cut short: the message does not quote 200 KB back.
  const key = 'K'.repeat(200_000);
  const message = refused(() => configure('options-env', { env: { [key]: '1' } }), RangeError, /env\["K{60}"…\] takes/);
  assert.ok(message.length < 400, `a message of ${message.length} characters`);
  configure('options-env', { env: { BIG: 'x'.repeat(100_000) } });
});

test('arrays with holes, and strings with a NUL character, are refused where they are given, not at the first call', () => {
  // every() skips holes: [, '--no-warnings'] passed, and the first call failed far from it.
  const withHole = (item: string): string[] => {
    const array: string[] = [];
    array[1] = item;
    return array;
  };
  refused(
    () => configure('options-holes', { execArgv: withHole('--no-warnings') }),
    TypeError,
    /execArgv must be an array of strings/,
  );
  refused(() => configure('options-holes', { preload: withHole('a.js') }), TypeError, /preload must be/);
  refused(() => configure('options-holes', { envAllow: withHole('PATH') }), TypeError, /envAllow must be/);
  refused(() => configure('options-holes', { execArgv: ['--x\0'] }), TypeError, /no NUL character/);
  refused(() => configure('options-holes', { env: { A: 'a\0b' } }), TypeError, /env must be .*no NUL character/);
  refused(() => configure('options-holes', { preload: ['a\0.js'] }), TypeError, /preload must be/);
  // An object that only looks like a transport has no way to make one.
  const fake = { kind: 'run-in-process:transport', description: 'fake' } as never;
  refused(() => configure('options-holes', { transport: fake }), TypeError, /transport must be a transport/);
});

test('an execArgv whose last flag still wants its value is refused: Node would take the child script for it', () => {
  for (const flag of ['--import', '--require', '-r', '--conditions']) {
    refused(
      () => configure('options-flags', { execArgv: ['--no-warnings', flag] }),
      TypeError,
      new RegExp(`execArgv ends with ${flag}, which takes a value`),
    );
  }
  configure('options-flags', { execArgv: ['--import', 'tsx'] });
  configure('options-flags', { execArgv: ['--import=tsx', '--no-warnings'] });
});

test('configure() with a name that is no string says the name is wrong, not the options', () => {
  assert.throws(
    () => configure(42 as unknown as string, {}),
    (error: Error & { code?: string }) =>
      error instanceof TypeError &&
      error.code === 'ERR_INVALID_USAGE' &&
      /the pool name must be a non-empty string \(got number\)/.test(error.message),
  );
});

test('configure() given options split over two objects refuses them, rather than drop the second', () => {
  const split = configure as unknown as (...args: unknown[]) => void;
  assert.throws(
    () => split('options-split', { size: 2 }, { timeout: 100 }),
    (error: Error & { code?: string }) =>
      error instanceof TypeError &&
      error.code === 'ERR_INVALID_USAGE' &&
      /takes a pool name and one options object \(got 3 arguments\)/.test(error.message),
  );
});

test('an option value whose description throws (a getter, a Proxy) is still refused with the option named', () => {
  const hostile = {
    get constructor(): never {
      throw new Error('constructor getter');
    },
  };
  refused(
    () => configure('options-hostile', { timeout: hostile as unknown as number }),
    TypeError,
    /timeout must be .*\(got an object\)/,
  );
  const trap = new Proxy([], {
    get() {
      throw new Error('trap');
    },
  });
  refused(
    () => configure('options-hostile', { size: trap as unknown as number }),
    TypeError,
    /size must be .*\(got an object\)/,
  );
});

test('nonsense is refused with the option named and what it must be', async () => {
  refused(
    () => configure('options-nonsense', { size: 0 }),
    RangeError,
    /size must be a positive integer of at most 1024 \(got 0\)/,
  );
  refused(() => configure('options-nonsense', { size: 1e7 }), RangeError, /size must be .* at most 1024/);
  refused(() => configure('options-nonsense', { size: 2 ** 32 }), RangeError, /size/);
  refused(() => configure('options-nonsense', { size: 1.5 }), RangeError, /size/);
  refused(() => configure('options-nonsense', { timeout: Number.NaN }), TypeError, /timeout/);
  refused(() => configure('options-nonsense', { timeout: -5 }), RangeError, /timeout/);
  refused(
    () => configure('options-nonsense', { isolate: 'yes' as unknown as boolean }),
    TypeError,
    /isolate must be true or false \(got "yes"\)/,
  );
  refused(
    () => configure('options-nonsense', { env: { A: 1 } as unknown as Record<string, string> }),
    TypeError,
    /env/,
  );
  refused(() => configure('options-nonsense', { isolate: {} as unknown as boolean }), TypeError, /\(got an object\)/);
  refused(
    () => configure('options-nonsense', { isolate: new Error('x') as unknown as boolean }),
    TypeError,
    /\(got an Error\)/,
  );
});

test('a Map, or options inherited from a prototype, are refused rather than ignored', () => {
  // Missing or null options: the same error, with the same code.
  refused(
    () => configure(undefined as never),
    TypeError,
    /options must be an object like \{ size: 4 \} \(got undefined\)/,
  );
  refused(() => configure(null as never), TypeError, /options must be an object like .*\(got null\)/);
  refused(
    () => configure('options-map', new Map([['size', 2]]) as never),
    TypeError,
    /options must be an object like .*not a Map/,
  );
  refused(
    () => configure('options-inherited', Object.create({ size: 2 })),
    TypeError,
    /size is inherited from the options' prototype.*\{ \.\.\.options \}/,
  );
});

test('an options object whose getter or Proxy throws is a bad option, with that error as its cause', () => {
  const boom = new Error('no size today');
  const withGetter = {
    get size(): number {
      throw boom;
    },
  };
  refused(
    () => configure('options-getter', withGetter),
    TypeError,
    /reading the options threw \(Error: no size today\)/,
  );
  try {
    configure('options-getter', withGetter);
  } catch (error) {
    assert.equal((error as Error).cause, boom, "the getter's own error is the cause");
  }
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  refused(() => withCallOptions(proxy, () => 1), TypeError, /withCallOptions.*reading the options threw/);
  const ownKeysThrows = new Proxy(
    {},
    {
      ownKeys: () => {
        throw 'a string';
      },
    },
  );
  refused(() => configure(ownKeysThrows), TypeError, /reading the options threw \("a string"\)/);
  // Inside a nested object, the message names it.
  const permissions = {
    get fsRead(): string[] {
      throw new RangeError('later');
    },
  };
  refused(
    () => configure('options-getter', { permissions }),
    TypeError,
    /reading option permissions threw \(RangeError: later\)/,
  );
  // A message getter that throws does not replace the report.
  const sly = new Error('x');
  Object.defineProperty(sly, 'message', {
    get() {
      throw sly;
    },
  });
  refused(
    () =>
      runInProcess({
        get timeout(): number {
          throw sly;
        },
      }),
    TypeError,
    /reading the options threw \(an Error\)/,
  );
});

test('options are copied when checked, and keys of Object.prototype are not options', () => {
  const options: { timeout?: unknown } = { timeout: 100 };
  const seen = withCallOptions(options as { timeout: number }, () => {
    options.timeout = 2 ** 40;
    return currentOptions().timeout;
  });
  assert.equal(seen, 100, 'changing the object afterwards changes nothing');
  refused(() => configure('options-keys', { constructor: 1 } as never), TypeError, /unknown option "constructor"/);
  refused(() => withCallOptions({ toString: undefined } as never, () => 1), TypeError, /unknown option "toString"/);
});

test('withCallOptions and shutdown reject unknown keys, as configure does', async () => {
  refused(
    () => withCallOptions({ timout: 5 } as never, () => 1),
    TypeError,
    /unknown option "timout". Known options: signal, timeout/,
  );
  refused(() => configure('options-keys', { sise: 2 } as never), TypeError, /unknown option "sise"/);
  await assert.rejects(shutdown({ deadlin: 5 } as never), /unknown option "deadlin". Known options: deadline/);
});

test('nested withCallOptions combine: the shorter timeout applies, and either signal aborts', () => {
  const outer = new AbortController();
  const inner = new AbortController();
  const seen = withCallOptions({ signal: outer.signal, timeout: 1_000 }, () =>
    withCallOptions({ timeout: 50 }, () =>
      withCallOptions({ signal: inner.signal }, () => {
        const options = currentOptions();
        outer.abort('outer');
        return { timeout: options.timeout, aborted: options.signal?.aborted, reason: options.signal?.reason };
      }),
    ),
  );
  assert.deepEqual(seen, { timeout: 50, aborted: true, reason: 'outer' });
  const longer = withCallOptions({ timeout: 100 }, () => withCallOptions({ timeout: 5_000 }, () => currentOptions()));
  assert.equal(longer.timeout, 100, "an inner call cannot extend its caller's deadline");
});

/** The options a call made here would get, read the way the call path reads them. */
function currentOptions(): { timeout?: number; signal?: AbortSignal; retries?: number } {
  const state = (globalThis as Record<symbol, { callOptions: { getStore(): unknown } } | undefined>)[
    Symbol.for('run-in-process.state.v3')
  ];
  return (state?.callOptions.getStore() ?? {}) as { timeout?: number; signal?: AbortSignal; retries?: number };
}

test('permissions and envAllow are checked key by key, and net: false is refused where Node cannot deny the network', () => {
  refused(
    () => configure('options-sandbox', { permissions: { fsread: [] } as never }),
    TypeError,
    /permissions: unknown option "fsread"\. Known options: fsRead, fsWrite, childProcess, worker, addons, wasi, net/,
  );
  refused(
    () => configure('options-sandbox', { permissions: { fsRead: './plugins' } as never }),
    TypeError,
    /fsRead must be an array of paths/,
  );
  refused(() => configure('options-sandbox', { permissions: [] as never }), TypeError, /permissions must be an object/);
  refused(() => configure('options-sandbox', { envAllow: 'PATH' as never }), TypeError, /envAllow must be an array/);
  // An array that is refused shows which item is wrong.
  refused(() => configure('options-sandbox', { preload: [''] }), TypeError, /preload must be .*\(got \[""\]\)\./);
  refused(() => configure('options-sandbox', { envAllow: ['PATH', 3] as never }), TypeError, /\(got \["PATH", 3\]\)\./);
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 25) {
    refused(
      () => configure('options-sandbox', { permissions: { net: false } }),
      RangeError,
      /net is false, but Node v\d+\S* cannot deny the network .* from Node 25/,
    );
  } else {
    configure('options-sandbox', { permissions: { net: false } });
  }
  configure('options-sandbox', { permissions: { fsRead: ['.'], net: true }, envAllow: ['PATH'] });
});

test('flags that would widen a sandboxed pool are refused, in execArgv and in NODE_OPTIONS', () => {
  refused(
    () => configure('options-sandbox', { permissions: {}, execArgv: ['--allow-fs-read=/'] }),
    TypeError,
    /--allow-fs-read=\/ would widen the sandbox/,
  );
  refused(
    () => configure('options-sandbox', { permissions: {}, env: { NODE_OPTIONS: '--no-deprecation --env-file=.env' } }),
    TypeError,
    /--env-file=\.env would widen the sandbox/,
  );
  // Files opened or written by Node itself, which the model does not check: Web Storage, profiles, snapshots, reports.
  for (const flag of [
    '--localstorage-file=/tmp/outside.db',
    '--experimental-webstorage',
    '--heapsnapshot-signal=SIGUSR2',
    '--cpu-prof-dir=/tmp',
    '--report-on-signal',
    '--prof',
    '--perf-basic-prof',
    '--tls-keylog=/tmp/keys',
    '--openssl-config=/tmp/evil.cnf',
    '--log-all',
    '--logfile=/tmp/outside/v8.log',
    '--redirect-warnings=/tmp/outside/warnings',
    // V8's own dumps: code traces, TurboFan graphs (turbo-*.cfg in the working directory), wasm modules.
    '--redirect-code-traces',
    '--redirect-code-traces-to=/tmp/outside/traces',
    '--trace-turbo',
    '--trace_turbo_path=/tmp/outside',
    '--trace-turbo-cfg-file=/tmp/outside/cfg',
    '--dump-wasm-module-path=/tmp/outside',
    '--gdbjit-dump',
    // V8's profilers that write their logs into the working directory, and its unsafe intrinsics.
    '--prof-cpp',
    '--ll-prof',
    '--allow-natives-syntax',
    // V8 takes a single dash as two: Node hands it the flags it does not know.
    '-trace-turbo',
    '-trace_turbo_cfg_file=/tmp/outside/cfg',
    '-redirect-code-traces-to=/tmp/outside/traces',
  ]) {
    refused(
      () => configure('options-sandbox', { permissions: {}, execArgv: [flag] }),
      TypeError,
      new RegExp(`${flag.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} would widen the sandbox`),
    );
  }
  // Variables that load native code or write files before the model applies, given or passed on.
  for (const env of [{ LD_PRELOAD: '/tmp/evil.so' }, { OPENSSL_CONF: '/tmp/evil.cnf' }, { NODE_V8_COVERAGE: '/tmp' }]) {
    const [name] = Object.keys(env);
    refused(
      () => configure('options-sandbox', { permissions: {}, env }),
      TypeError,
      new RegExp(`${name} would widen the sandbox .*loads native code or writes files`),
    );
  }
  refused(
    () => configure('options-sandbox', { permissions: {}, envAllow: ['PATH', 'LD_LIBRARY_PATH'] }),
    TypeError,
    /LD_LIBRARY_PATH would widen the sandbox/,
  );
  configure('options-sandbox', { permissions: {}, env: { LANG: 'C' }, envAllow: ['PATH'] });
  // Their tuning flags write nothing: let through.
  configure('options-sandbox', {
    permissions: {},
    execArgv: ['--report-compact', '--report-signal=SIGUSR2', '--heap-prof-interval=1024', '--cpu-prof-interval=100'],
  });
  // As Node reads them: quotes and escapes in NODE_OPTIONS, underscores for dashes in a flag's name.
  refused(
    () => configure('options-sandbox', { permissions: {}, env: { NODE_OPTIONS: '"--allow-worker"' } }),
    TypeError,
    /--allow-worker would widen the sandbox/,
  );
  refused(
    () => configure('options-sandbox', { permissions: {}, env: { NODE_OPTIONS: '--no-warnings --allow-"fs-read=/"' } }),
    TypeError,
    /--allow-fs-read=\/ would widen the sandbox/,
  );
  refused(
    () => configure('options-sandbox', { permissions: {}, env: { NODE_OPTIONS: '"--allow\\-child-process"' } }),
    TypeError,
    /--allow-child-process would widen the sandbox/,
  );
  refused(
    () => configure('options-sandbox', { permissions: {}, execArgv: ['--allow_fs_read=/'] }),
    TypeError,
    /--allow_fs_read=\/ would widen the sandbox/,
  );
  refused(
    () => configure('options-sandbox', { permissions: {}, env: { NODE_OPTIONS: '--inspect_brk' } }),
    TypeError,
    /--inspect_brk would widen the sandbox/,
  );
  // Flags that only warn (--permission-audit), or read options from a file, or open Node's internals.
  for (const flag of [
    '--permission-audit',
    '--experimental-config-file=node.config.json',
    '--experimental-default-config-file',
    '--expose-internals',
    '--snapshot-blob=blob',
  ]) {
    refused(
      () => configure('options-sandbox', { permissions: {}, execArgv: [flag] }),
      TypeError,
      new RegExp(`${flag.replace(/[.]/g, '\\.')} would widen the sandbox`),
    );
  }
  // The parent's NODE_OPTIONS, when envAllow passes it on.
  const parentOptions = process.env['NODE_OPTIONS'];
  process.env['NODE_OPTIONS'] = '--no-warnings --allow-fs-read=/';
  try {
    refused(
      () => configure('options-sandbox', { permissions: {}, envAllow: ['NODE_OPTIONS'] }),
      TypeError,
      /--allow-fs-read=\/ would widen the sandbox/,
    );
  } finally {
    if (parentOptions === undefined) delete process.env['NODE_OPTIONS'];
    else process.env['NODE_OPTIONS'] = parentOptions;
  }
  refused(() => configure('options-sandbox', { permissions: { fsRead: ['a\0b'] } }), TypeError, /no NUL character/);
  configure('options-sandbox', {
    permissions: {},
    env: { NODE_OPTIONS: '--require "/a path/with --allow-worker in it.js"' },
  });
  configure('options-sandbox', { permissions: {}, execArgv: ['--no-deprecation'] });
});

test('runInProcess(options) given a function to wrap says to pass the function first', () => {
  const decorator = runInProcess({ timeout: 5 }) as unknown as (target: unknown) => unknown;
  for (const fn of [async function render() {}, async () => {}, async function* items() {}]) {
    assert.throws(() => decorator(fn), {
      name: 'TypeError',
      code: 'ERR_INVALID_USAGE',
      message: /runInProcess\(options\) is a decorator.*runInProcess\(fn, options\)/,
    });
  }
});

test('stream options: window is a positive integer, idleTimeout a time, and nothing else is known', () => {
  refused(
    () => runInProcess({ stream: { window: 0 } }),
    RangeError,
    /stream\.window must be a positive integer .*\(got 0\)/,
  );
  refused(() => runInProcess({ stream: { window: 2.5 } }), RangeError, /stream\.window/);
  refused(() => runInProcess({ stream: { window: '16' as unknown as number } }), TypeError, /stream\.window/);
  refused(() => runInProcess({ stream: { idleTimeout: -1 } }), RangeError, /stream\.idleTimeout must be a positive/);
  refused(
    () => runInProcess({ stream: { windw: 4 } as never }),
    TypeError,
    /unknown option "stream\.windw"\. Known options of stream: window, idleTimeout/,
  );
  refused(() => runInProcess({ stream: 16 as never }), TypeError, /stream must be an object like \{ window: 16/);
  refused(() => runInProcess({ callbacks: 'yes' as never }), TypeError, /callbacks must be true or false/);
  assert.equal(typeof runInProcess({ stream: { window: 1, idleTimeout: 1_000 }, callbacks: true }), 'function');
});

test('retries is a whole number from 0 to 100, per method or per call; id a non-empty string', () => {
  refused(() => runInProcess({ retries: -1 }), RangeError, /retries must be a whole number from 0 to 100 \(got -1\)/);
  refused(() => runInProcess({ retries: 1.5 }), RangeError, /retries/);
  refused(() => runInProcess({ retries: 101 }), RangeError, /retries/);
  refused(() => withCallOptions({ retries: '2' as unknown as number }, () => 1), TypeError, /retries/);
  refused(() => runInProcess({ id: '' }), TypeError, /id must be a non-empty string/);
  refused(() => runInProcess({ id: 7 as unknown as string }), TypeError, /id/);
  assert.equal(
    withCallOptions({ retries: 2 }, () => withCallOptions({ timeout: 5 }, () => currentOptions().retries)),
    2,
    'an inner withCallOptions keeps the outer retries',
  );
  assert.equal(
    withCallOptions({ retries: 2 }, () => withCallOptions({ retries: 0 }, () => currentOptions().retries)),
    0,
  );
});

test('name on a decorator is refused: a method or a class is known by its own name', () => {
  refused(
    // As JavaScript, or past the types, would pass it.
    () => runInProcess({ name: 'other' } as object),
    TypeError,
    /@runInProcess\(options\): name applies to a wrapped function \(runInProcess\(fn, \{ name \}\)\)/,
  );
});

test('a wrapped function has the name and number of parameters of the function it stands for', () => {
  // Named as a fixture's (a test file cannot declare offloaded code); never called.
  const module = new URL('../../fixtures/standard/values.js', import.meta.url).href;
  const wrapped = runInProcess(
    async function parseForLength(_text: string, _strict: boolean) {
      return 1;
    },
    { module },
  );
  assert.equal(wrapped.name, 'parseForLength');
  assert.equal(wrapped.length, 2);
});

const { sameOptions } = await internal<typeof import('../../build/lib/call/same-options.js')>('call/same-options.js');

test('configure() again is the same when every option says the same; within env, a key set to undefined is not an absent one', () => {
  assert.ok(
    sameOptions({ size: 2, env: { A: '1' }, execArgv: ['--x'] }, { size: 2, env: { A: '1' }, execArgv: ['--x'] }),
  );
  assert.ok(sameOptions({ size: 2, timeout: undefined }, { size: 2 }), 'an option given as undefined is not given');
  assert.ok(!sameOptions({ size: 2 }, { size: 3 }));
  assert.ok(!sameOptions({ execArgv: ['--a', '--b'] }, { execArgv: ['--b', '--a'] }), 'order matters');
  assert.ok(!sameOptions({ env: { SECRET: undefined } }, { env: {} }), 'undefined takes away what envAllow passes on');
  assert.ok(!sameOptions({ permissions: {} }, {}));
  const transport = { createTransport: () => undefined };
  assert.ok(!sameOptions({ transport } as never, { transport: { ...transport } } as never), 'a transport by identity');
});
