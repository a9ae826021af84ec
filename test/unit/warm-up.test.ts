import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internal } from '../helpers/internal.js';

// A child's warm-up (src/child/warm-up.ts) runs its 200 rounds of pings, 3 to a round, through an
// open batch. A batch stops after a call slower than a millisecond, as one may be on a busy
// machine: the warm-up then goes on in another batch, and still runs every ping. Run here in
// process, as a child would.
const { warmUp } = await internal<typeof import('../../build/lib/child/warm-up.js')>('child/warm-up.js');
const { findModule } = await internal<typeof import('../../build/lib/shared/registry.js')>('shared/registry.js');
const pingModule = new URL('../../lib/child/ping.js', import.meta.url).href;

test('a slow ping ends its batch, not the warm-up: every ping runs', async () => {
  const module = findModule(pingModule);
  assert.ok(module, 'the pings are registered');
  const entries = [
    ...module.functions.values(),
    ...module.classes.flatMap((owner) => [...owner.methods.values()]),
  ] as unknown as {
    impl: (value: unknown) => unknown;
  }[];
  assert.equal(entries.length, 3);
  const originals = entries.map((entry) => entry.impl);
  let runs = 0;
  entries.forEach((entry, index) => {
    entry.impl = (value: unknown) => {
      runs++;
      // Slower than a millisecond, twice: each ends the batch it runs in.
      if (runs === 10 || runs === 400) {
        const end = performance.now() + 3;
        while (performance.now() < end);
      }
      return originals[index]!(value);
    };
  });
  try {
    assert.deepEqual(await warmUp(Promise.resolve()), ['warmed']);
  } finally {
    entries.forEach((entry, index) => {
      entry.impl = originals[index]!;
    });
  }
  assert.equal(runs, 600, '200 rounds of 3 pings');
});
