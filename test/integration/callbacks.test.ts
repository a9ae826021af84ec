import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import {
  configure,
  RunInProcessError,
  SerializationError,
  shutdown,
  TimeoutError,
  withCallOptions,
} from 'run-in-process';
import { fixture, fixtureUrl, isAlive, modes, scratchFile, waitFor, waitForFile } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';
import { runScript } from '../helpers/scripts.js';

// Progress callbacks (issue #13, point 6): with `callbacks: true`, a function argument is a stub in
// the child that sends its arguments here, where the real function is called.

type StreamsModule = typeof import('../fixtures/src/streams.js');
type PooledModule = typeof import('../fixtures/src/pooled.js');
const { inPool } = await fixture<PooledModule>('standard', 'pooled');

after(() => shutdown());

for (const mode of modes) {
  const { Exporter, forgesCallback } = await fixture<StreamsModule>(mode, 'streams');

  describe(`callbacks (${mode})`, () => {
    test('every event arrives, in order, before the promise settles; none after', async () => {
      const events: Array<[number, number]> = [];
      const late = scratchFile('late');
      const result = await new Exporter().crunch(
        200,
        (done, of) => {
          events.push([done, of]);
        },
        late,
      );
      assert.equal(result, 'crunched 200');
      assert.deepEqual(
        events,
        Array.from({ length: 200 }, (_, index) => [index + 1, 200]),
        'not coalesced, not reordered',
      );
      // The child's stub is called once more after the answer (a timer in the fixture): it does nothing.
      await waitForFile(late);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(events.length, 200);
    });

    test('a stream reports progress between its items, in order', async () => {
      const seen: string[] = [];
      for await (const item of new Exporter().crunchStream(3, (label) => seen.push(label))) seen.push(`item ${item}`);
      // The child runs ahead of the consumer (its window): each event comes before the item it precedes.
      assert.deepEqual(
        seen.filter((entry) => entry.startsWith('before')),
        ['before 0', 'before 1', 'before 2'],
      );
      assert.deepEqual(
        seen.filter((entry) => entry.startsWith('item')),
        ['item 0', 'item 1', 'item 2'],
      );
      for (let index = 0; index < 3; index++)
        assert.ok(seen.indexOf(`before ${index}`) < seen.indexOf(`item ${index}`));
    });

    test('leaving a stream early does not wait for promises its callbacks returned that never settle', async () => {
      const seen: number[] = [];
      const left = (async () => {
        for await (const item of new Exporter().crunchStream(100, () => new Promise(() => {}))) {
          seen.push(item);
          if (item === 1) break;
        }
        return 'left';
      })();
      const late = new Promise((resolve) => setTimeout(resolve, 5_000, 'still waiting after 5 s').unref());
      assert.equal(await Promise.race([left, late]), 'left');
      assert.deepEqual(seen, [0, 1]);
    });

    test('a throw in the parent callback fails the call with that error and stops its child', async () => {
      const release = scratchFile('release');
      const mine = new Error('the progress bar broke');
      let pid = 0;
      const error = await rejectionOf(
        new Exporter().callsBackThenWaits(release, (child) => {
          pid = child;
          throw mine;
        }),
      );
      assert.equal(error, mine);
      assert.ok((await waitFor(() => !isAlive(pid), 5_000)) !== undefined, 'its child was killed');
      writeFileSync(release, '');
    });

    test('a stream whose callback threw is stopped alone: the calls made right after it run', async () => {
      // The stream's child is stopped through tinypool while the stream's end may already be on its
      // way, which made tinypool give that dying child the next call: it failed with PoolClosedError.
      for (let round = 0; round < 20; round++) {
        const stream = new Exporter().crunchStream(3, () => {
          throw new Error('the progress bar broke');
        });
        await rejectionOf(
          (async () => {
            for await (const _ of stream);
          })(),
        );
        assert.equal(await new Exporter().crunch(1, () => {}, scratchFile('late')), 'crunched 1', `round ${round}`);
      }
    });

    test("a callback that throws as the stream's finally calls it, after break: the loop throws it, as locally", async () => {
      const cleaned = scratchFile('cleaned');
      const mine = new Error('report failed');
      const stream = new Exporter().reportsOnStop((what) => {
        if (what === 'cleaning up') throw mine;
      }, cleaned);
      const thrown = await rejectionOf(
        (async () => {
          for await (const item of stream) if (item === 1) break;
        })(),
      );
      assert.equal(thrown, mine);
      // As locally, the throw ended the finally where the callback was called.
      assert.equal(existsSync(cleaned), false);
    });

    test('an async parent callback that rejects fails the call the same way, with no unhandled rejection', async () => {
      const release = scratchFile('release-async');
      const mine = new Error('the async progress bar broke');
      let unhandled = 0;
      const count = () => unhandled++;
      process.on('unhandledRejection', count);
      try {
        const error = await rejectionOf(
          new Exporter().callsBackThenWaits(release, async () => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            throw mine;
          }),
        );
        assert.equal(error, mine);
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(unhandled, 0);
      } finally {
        process.off('unhandledRejection', count);
        writeFileSync(release, '');
      }
    });

    test('a callback that throws or rejects with a value whose prototype cannot be read still fails its call, and nothing is left', async () => {
      // instanceof on it throws: the call stayed unsettled, shutdown() waited for it for ever, and the
      // async case ended the parent with an unhandled rejection.
      const unreadable = new Proxy(
        {},
        {
          getPrototypeOf() {
            throw new TypeError('no prototype to read');
          },
        },
      );
      let unhandled = 0;
      const count = () => unhandled++;
      process.on('unhandledRejection', count);
      try {
        for (const callback of [
          () => {
            throw unreadable;
          },
          async () => {
            throw unreadable;
          },
        ]) {
          const release = scratchFile('release-unreadable');
          try {
            await rejectionOf(new Exporter().callsBackThenWaits(release, callback));
          } finally {
            writeFileSync(release, '');
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(unhandled, 0);
        assert.equal(await new Exporter().crunch(1, () => {}, scratchFile('after-unreadable')), 'crunched 1');
      } finally {
        process.off('unhandledRejection', count);
      }
    });

    test('a callback that returns a thenable calling both its handlers is taken as await takes it: the first wins', async () => {
      const twoFaced = () => ({
        // biome-ignore lint/suspicious/noThenProperty: a thenable is what this checks.
        then(resolve: (value: unknown) => void, reject: (error: unknown) => void) {
          resolve(1);
          reject(new Error('rejected after it resolved'));
        },
      });
      assert.equal(await new Exporter().crunch(1, twoFaced, scratchFile('two-faced')), 'crunched 1');
    });

    test('an async callback that rejects fails its call even when the answer comes in the same read', async () => {
      // crunch returns right after calling back: its answer is often read with the event, before the
      // callback's promise has rejected; the answer waits for it.
      for (let i = 0; i < 20; i++) {
        const mine = new Error(`rejected at once (${i})`);
        const error = await rejectionOf(
          new Exporter().crunch(1, async () => Promise.reject(mine), scratchFile('late-reject')),
        );
        assert.equal(error, mine, `call ${i}`);
      }
    });

    test('a timeout while only a promise its callback returned is unsettled says so; the child, which answered, is kept', async () => {
      const pids: number[] = [];
      const release = scratchFile('unsettled-callback-release');
      // A child that has imported the module already, and a timeout that a loaded machine's round
      // trips (event, callback, answer) fit in: the test is about what the message says.
      await new Exporter().crunch(1, () => {}, scratchFile('unsettled-callback-warm'));
      const error = await rejectionOf(
        withCallOptions({ timeout: 1_000 }, () =>
          new Exporter().callsBackThenWaits(release, (pid) => {
            pids.push(pid);
            writeFileSync(release, '');
            return new Promise(() => {});
          }),
        ),
        TimeoutError,
      );
      assert.match(
        error.message,
        /timed out after 1000 ms: it had answered, but a promise that its callbacks returned/,
      );
      assert.ok(isAlive(pids[0]!), 'its child was not killed');
    });

    test('a callback event forged in the child with something other than a list of arguments fails the call, saying so', async () => {
      // A sparse list claiming 2 ** 32 - 1 arguments: spread, it took all of the parent's memory.
      for (const payload of ['number', 'sparse list'] as const) {
        const events: number[] = [];
        const release = scratchFile('forged-callback-release');
        const error = await rejectionOf(
          forgesCallback((n) => events.push(n), release, payload),
          RunInProcessError,
        );
        assert.match(
          error.message,
          /something other than a list of arguments for the callback at args\[0\]: code running in the child forged/,
        );
        assert.deepEqual(events, [1], 'the genuine event only');
      }
    });

    test('without callbacks: true, a function argument is still refused', async () => {
      const error = await rejectionOf(
        new Exporter().noCallbacks(() => {}),
        SerializationError,
      );
      assert.equal(error.path, 'args[0]');
      assert.match(error.message, /for a callback the child is to call, declare the method with \{ callbacks: true \}/);
    });
  });
}

test('a call waiting only for a promise its callback returned that never settles does not keep the process alive', () => {
  // As a local `await` of that promise would not: the script ends once the child, idle, is gone.
  const run = runScript(
    `const { Exporter } = await import(${JSON.stringify(fixtureUrl('standard', 'streams'))});
    const { configure } = await import('run-in-process');
    configure({ idleTimeout: 200 });
    new Exporter().crunch(2, () => new Promise(() => {}), ${JSON.stringify(scratchFile('never-late'))})
      .then((value) => console.log('settled', value));
    console.log('main finished');`,
    { timeout: 20_000 },
  );
  assert.equal(run.status, 0, run.report);
  assert.equal(run.stdout.trim(), 'main finished', run.report);
  // The same for a stream whose end waits for them, its consumer waiting for that end.
  const streamed = runScript(
    `const { Exporter } = await import(${JSON.stringify(fixtureUrl('standard', 'streams'))});
    const { configure } = await import('run-in-process');
    configure({ idleTimeout: 200 });
    (async () => {
      for await (const item of new Exporter().crunchStream(2, () => new Promise(() => {}))) console.log('item', item);
      console.log('ended');
    })();`,
    { timeout: 20_000 },
  );
  assert.equal(streamed.status, 0, streamed.report);
  assert.equal(streamed.stdout.trim(), 'item 0\nitem 1', streamed.report);
});

test('a child that calls back faster than async callbacks settle waits for them: the promises held here stay bounded, and every event arrives', async () => {
  // The parent held every promise, and ran as many callbacks at once (150 MB after 118,000 events in
  // 5 s, from a hostile review). Its child now waits, as a stream's producer waits for its consumer.
  configure('callbacks-flood', { size: 1 });
  const { flood } = inPool('callbacks-flood');
  const count = 15_000;
  let pending = 0;
  let most = 0;
  let received = 0;
  const releases: Array<() => void> = [];
  const call = flood(count, () => {
    received++;
    most = Math.max(most, ++pending);
    return new Promise<void>((resolve) =>
      releases.push(() => {
        pending--;
        resolve();
      }),
    );
  });
  let settled = false;
  void call.finally(() => (settled = true)).catch(() => {});
  // The callbacks settle only as this loop lets them: all at once, every 200 ms.
  while (!settled) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const release of releases.splice(0)) release();
  }
  assert.equal(await call, count);
  assert.equal(received, count, 'every event arrived');
  // The bound (1,000) and what was already read past it: what the pipe held, a read or two. (Without
  // the bound, about 10,000 here: what the child sent in 200 ms.)
  assert.ok(most < 3_000, `${most} promises were held here at once`);
});
