import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { configure, shutdown } from 'run-in-process';
import { fixture, fixtureUrl } from './helpers/fixtures.js';

type ValuesModule = typeof import('./fixtures/src/values.js');
const { Environment } = await fixture<ValuesModule>('standard', 'values');
after(() => shutdown());

test("children get the parent's environment and flags, without debugger flags", async () => {
  process.env['RUN_IN_PROCESS_TEST_VALUE'] = 'from the parent';
  configure({ execArgv: ['--no-warnings', '--inspect-port=0', '--stack-size=2000'], env: { ...process.env, NODE_OPTIONS: '--inspect=0 --no-deprecation' } });
  const seen = await Environment.read('RUN_IN_PROCESS_TEST_VALUE');
  assert.equal(seen.value, 'from the parent');
  assert.deepEqual(seen.execArgv, ['--no-warnings', '--stack-size=2000']);
  assert.equal(seen.nodeOptions, '--no-deprecation');
});

test('maxMemoryMb becomes the heap limit flag', async () => {
  configure({ maxMemoryMb: 300 });
  assert.ok((await Environment.read('X')).execArgv.includes('--max-old-space-size=300'));
  configure({});
});

test('a decorated class in the entry script works, with one warning that says how to fix it', () => {
  const script = fileURLToPath(fixtureUrl('standard', 'entry-script'));
  const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  const [, parent, first, second] = /parent (\d+) children (\d+) (\d+)/.exec(run.stdout) ?? [];
  assert.ok(parent && first && second, run.stdout);
  assert.notEqual(first, parent);
  assert.equal(run.stderr.match(/RUN_IN_PROCESS_ENTRY_SCRIPT/g)?.length, 1, run.stderr);
  assert.match(run.stderr, /isChildProcess\(\)/);
});

test('RUN_IN_PROCESS_INLINE=1 runs calls in this process through the same serialization', () => {
  const script = `
    const { Values } = await import(${JSON.stringify(fixtureUrl('standard', 'values'))});
    const back = await Values.echo({ big: 1n, buffer: Buffer.from('x') });
    console.log(JSON.stringify({ same: (await Values.pid()) === process.pid, big: typeof back.big, buffer: Buffer.isBuffer(back.buffer) }));
    try { await Values.echo({ fn() {} }); } catch (error) { console.log(error.name, error.path); }`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, RUN_IN_PROCESS_INLINE: '1' },
    timeout: 30_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const [result, refusal] = run.stdout.trim().split('\n');
  assert.deepEqual(JSON.parse(result!), { same: true, big: 'bigint', buffer: true });
  assert.equal(refusal, 'SerializationError args[0].fn');
});

test('a parent started with --inspect still runs calls; children do not take the debug port', () => {
  const script = `
    const { Environment } = await import(${JSON.stringify(fixtureUrl('standard', 'values'))});
    const { shutdown } = await import('run-in-process');
    const seen = await Promise.all([Environment.read('X'), Environment.read('X')]);
    console.log(JSON.stringify(seen.map((s) => s.execArgv)));
    await shutdown();`;
  const run = spawnSync(process.execPath, ['--inspect=0', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /Debugger listening/);
  for (const flags of JSON.parse(run.stdout) as string[][]) assert.ok(!flags.some((flag) => flag.startsWith('--inspect')), String(flags));
});
