import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// A stream's credit (src/pool/stream-flow.ts), driven by a consumer and a child simulated here:
// the child yields whenever it has credit, the consumer pulls items one at a time.

type Value = import('../../build/lib/protocol.js').Value;
const { StreamFlow } = await internal<typeof import('../../build/lib/pool/stream-flow.js')>('pool/stream-flow.js');

/** Runs `items` through a flow of `window`; returns the credit messages sent and the most the child ran ahead. */
function simulate(window: number, items: number) {
  const grants: number[] = [];
  let granted = window;
  let made = 0;
  let consumed = 0;
  let mostAhead = 0;
  const delivered: Value[] = [];
  const flow = new StreamFlow(
    window,
    undefined,
    (item) => delivered.push(item),
    (count) => {
      grants.push(count);
      granted += count;
      return true;
    },
    () => assert.fail('no idle timeout is set'),
  );
  const childRuns = () => {
    while (made < granted && made < items) {
      made++;
      flow.received(['as-is', made, false]);
      mostAhead = Math.max(mostAhead, made - consumed);
    }
  };
  childRuns();
  while (consumed < items) {
    assert.ok(delivered.length > 0, 'the consumer never waits for an item the child may not make');
    delivered.shift();
    consumed++;
    if (consumed < items) flow.pull();
    childRuns();
  }
  flow.end();
  return { grants, mostAhead };
}

test('window 16: the child runs at most 16 ahead, and credit costs one message per 8 items', () => {
  const { grants, mostAhead } = simulate(16, 1_600);
  assert.ok(mostAhead <= 16, `ran ${mostAhead} ahead`);
  assert.ok(grants.length <= 1_600 / 8, `${grants.length} credit messages`);
  assert.ok(grants.every((count) => count >= 8));
});

test('window 1: one item at a time, and one credit per item', () => {
  const { grants, mostAhead } = simulate(1, 50);
  assert.equal(mostAhead, 1);
  assert.equal(grants.length, 49);
});
