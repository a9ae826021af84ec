import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { configure, ProcessCrashedError, shutdown, TimeoutError, withCallOptions } from 'run-in-process';
import { childPids, fixture } from './helpers/fixtures.js';

type LoadModule = typeof import('./fixtures/src/load.js');
const { Load } = await fixture<LoadModule>('standard', 'load');
after(() => shutdown());

/** ~1% crashes, ~0.25% timeouts, 10% thrown errors, the rest values: decided by the index, checked per call. */
function outcomeOf(index: number) {
  if (index % 100 === 7) return 'crash' as const;
  if (index % 400 === 13) return 'hang' as const;
  if (index % 10 === 3) return 'throw' as const;
  return 'value' as const;
}

test('20,000 concurrent calls all settle with their own outcome, and no child is left', async () => {
  configure({ size: 2 });
  const total = 20_000;
  const calls = Array.from({ length: total }, (_, index) => {
    const outcome = outcomeOf(index);
    const call = outcome === 'hang' ? withCallOptions({ timeout: 250 }, () => Load.work(index, outcome)) : Load.work(index, outcome);
    return call.then(
      (value) => ({ index, outcome, value, error: undefined as unknown }),
      (error: unknown) => ({ index, outcome, value: undefined, error }),
    );
  });
  const results = await Promise.all(calls);
  const counts = { value: 0, throw: 0, crash: 0, hang: 0 };
  for (const { index, outcome, value, error } of results) {
    counts[outcome]++;
    if (outcome === 'value') assert.equal(value, index * 2, `call ${index} got another call's result`);
    if (outcome === 'throw') {
      assert.ok(error instanceof RangeError, `call ${index}: ${String(error)}`);
      assert.equal(error.message, `failure ${index}`);
    }
    if (outcome === 'crash') {
      assert.ok(error instanceof ProcessCrashedError, `call ${index}: ${String(error)}`);
      assert.equal(error.exitCode, 17);
    }
    if (outcome === 'hang') assert.ok(error instanceof TimeoutError, `call ${index}: ${String(error)}`);
  }
  const expected = { value: 0, throw: 0, crash: 0, hang: 0 };
  for (let index = 0; index < total; index++) expected[outcomeOf(index)]++;
  assert.deepEqual(counts, expected);
  assert.ok(expected.crash === 200 && expected.hang === 50, 'the mix has 1% crashes and some timeouts');
  await shutdown();
  assert.deepEqual(childPids(), [], 'no child process is left after shutdown()');
});
