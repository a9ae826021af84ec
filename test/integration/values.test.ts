import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { SerializationError, shutdown } from 'run-in-process';
import { fixture, modes } from '../helpers/fixtures.js';
import { rejectionOf } from '../helpers/rejection.js';

type ValuesModule = typeof import('../fixtures/src/values.js');

after(() => shutdown());

for (const mode of modes) {
  describe(`values cross both ways keeping their types (${mode})`, () => {
    test('BigInt, undefined, NaN, -0, Date, RegExp, Map, Set, typed arrays, ArrayBuffer, Buffer, cycles', async () => {
      const { Values } = await fixture<ValuesModule>(mode, 'values');
      const circular: { name: string; self?: unknown; list: unknown[] } = { name: 'loop', list: [] };
      circular.self = circular;
      circular.list.push(circular);
      const sent = {
        big: 2n ** 70n,
        missing: undefined,
        nan: NaN,
        negativeZero: -0,
        date: new Date('2026-01-02T03:04:05.006Z'),
        pattern: /a+b/giu,
        map: new Map<unknown, unknown>([
          [1, 'one'],
          ['nested', new Map([[2n, new Set([1])]])],
        ]),
        set: new Set(['a', 'b']),
        floats: new Float64Array([1.5, -2.25]),
        bigints: new BigInt64Array([-1n, 2n]),
        arrayBuffer: new Uint8Array([9, 8, 7]).buffer,
        buffer: Buffer.from('héllo'),
        circular,
      };
      const back = await Values.echo(sent);
      assert.equal(back.big, 2n ** 70n);
      assert.ok('missing' in back && back.missing === undefined, 'an undefined property stays, as undefined');
      assert.ok(Number.isNaN(back.nan));
      assert.ok(Object.is(back.negativeZero, -0));
      assert.deepEqual(back.date, sent.date);
      assert.ok(back.pattern instanceof RegExp && back.pattern.source === 'a+b' && back.pattern.flags === 'giu');
      assert.deepEqual(back.map, sent.map);
      assert.deepEqual(back.set, sent.set);
      assert.ok(back.floats instanceof Float64Array);
      assert.deepEqual([...back.floats], [1.5, -2.25]);
      assert.ok(back.bigints instanceof BigInt64Array);
      assert.ok(back.arrayBuffer instanceof ArrayBuffer);
      assert.deepEqual([...new Uint8Array(back.arrayBuffer)], [9, 8, 7]);
      assert.ok(Buffer.isBuffer(back.buffer), 'a Buffer comes back as a Buffer');
      assert.equal(back.buffer.toString(), 'héllo');
      assert.equal(back.circular.self, back.circular, 'cycles are kept');
      assert.equal(back.circular.list[0], back.circular);
    });

    test('the child receives a Buffer as a Buffer', async () => {
      const { Values } = await fixture<ValuesModule>(mode, 'values');
      assert.equal(await Values.describe(Buffer.from('x')), '[object Uint8Array] Buffer');
      assert.equal(await Values.describe(new Uint8Array(1)), '[object Uint8Array]');
    });

    test('what cannot cross is refused before sending, naming its path', async () => {
      const { Values } = await fixture<ValuesModule>(mode, 'values');
      const echo = Values.echo as (...args: unknown[]) => Promise<unknown>;
      const cases: Array<[unknown[], string, RegExp]> = [
        [[1, { onProgress: () => {} }], 'args[1].onProgress', /a function/],
        [[{ tag: Symbol('x') }], 'args[0].tag', /a symbol/],
        [[{ shared: new SharedArrayBuffer(8) }], 'args[0].shared', /SharedArrayBuffer/],
        [
          [
            {
              get boom() {
                throw new Error('getter says no');
              },
            },
          ],
          'args[0].boom',
          /getter says no/,
        ],
        [[new Map([['key', { fn: Math.max }]])], 'args[0].get("key").fn', /a function/],
        [[[1, 2, Promise.resolve(3)]], 'args[0][2]', /Promise/],
      ];
      for (const [args, path, reason] of cases) {
        const error = await rejectionOf(echo(...args), SerializationError);
        assert.equal(error.path, path);
        assert.match(error.message, reason);
      }
    });

    test('a result that cannot be sent back is a SerializationError, and the child survives', async () => {
      const { Values } = await fixture<ValuesModule>(mode, 'values');
      const before = await Values.pid();
      assert.equal((await rejectionOf(Values.unsendable(), SerializationError)).path, 'result.handle');
      assert.equal(await Values.pid(), before, 'the same child answers the next call');
    });
  });
}

test('a 100 MB payload goes through', async () => {
  const { Values } = await fixture<ValuesModule>('standard', 'values');
  const big = Buffer.alloc(100 * 1024 * 1024, 7);
  const back = await Values.echo(big);
  assert.equal(back.length, big.length);
  assert.equal(back[back.length - 1], 7);
});
