import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { configure, ProcessCrashedError, shutdown, TimeoutError, withCallOptions } from 'run-in-process';
import { CallLog, ids } from '../helpers/call-log.js';
import { childPids, fixture } from '../helpers/fixtures.js';

type LoadModule = typeof import('../fixtures/src/load.js');
const { Load } = await fixture<LoadModule>('standard', 'load');
after(() => shutdown());

/** 2% crashes, 1% timeouts, 10% thrown errors, the rest values: decided by the index, checked per call. */
function outcomeOf(index: number) {
  if (index % 50 === 7) return 'crash' as const;
  if (index % 100 === 13) return 'hang' as const;
  if (index % 10 === 3) return 'throw' as const;
  return 'value' as const;
}

test('50,000 concurrent calls each run exactly once and settle with their own outcome, and no child is left', async () => {
  configure('load', { size: 2 });
  const log = new CallLog();
  const total = 50_000;
  const results = await Promise.allSettled(
    ids(total).map((index) => {
      const outcome = outcomeOf(index);
      return outcome === 'hang'
        ? withCallOptions({ timeout: 100 }, () => Load.work(log.path, index, outcome))
        : Load.work(log.path, index, outcome);
    }),
  );
  assert.equal(results.length, total);
  for (const [index, result] of results.entries()) {
    const outcome = outcomeOf(index);
    const error = result.status === 'rejected' ? result.reason : undefined;
    if (outcome === 'value')
      assert.equal(
        result.status === 'fulfilled' ? result.value : error,
        index * 2,
        `call ${index} got another call's result`,
      );
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
  // Every call ran in a child, once: none was lost or run again when a child crashed or timed out.
  // A call with a 100 ms timeout may time out before its first line: its timeout counts from its
  // child's start of it, which in a fresh child includes importing the module (slow on a busy machine).
  const timed = new Set(ids(total).filter((index) => outcomeOf(index) === 'hang'));
  log.assertEachRanOnce(ids(total), timed);
  await shutdown();
  assert.deepEqual(childPids(), [], 'no child process is left after shutdown()');
});
