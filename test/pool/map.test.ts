// Pool's mapping methods (Python's multiprocessing.Pool), on worker threads and on child processes.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NotCloneableError, Pool, TargetNotFoundError } from 'threadkit';
import { add, echo, failOnSeven, inc, mirror, Point, sleepThen, square } from '../fixtures/pool-targets.ts';
import { assertNoLeaks, KINDS, range, rejection, within } from './helpers.ts';

function notExported(x: number): number {
  return x;
}

for (const kind of KINDS) {
  describe(`Pool (${kind})`, () => {
    let pool: Pool;
    before(() => {
      pool = new Pool({ processes: 2, kind });
    });
    after(async () => {
      await within(10_000, pool.terminate(), 'terminate()');
      await assertNoLeaks(pool);
    });

    it('maps a function over a list and gives the results in order', async () => {
      assert.deepEqual(
        await within(20_000, pool.map(square, range(10))),
        range(10).map((x) => x * x),
      );
    });

    it('maps with a chunksize that does not divide the items, results still in order', async () => {
      assert.deepEqual(await within(20_000, pool.map(inc, range(23), { chunksize: 5 })), range(23, 1));
    });

    it('maps an async function', async () => {
      assert.deepEqual(
        await within(
          20_000,
          pool.starmap(sleepThen, [
            [20, 'a'],
            [1, 'b'],
            [5, 'c'],
          ]),
        ),
        ['a', 'b', 'c'],
      );
    });

    it('starmaps argument tuples, with and without chunks', async () => {
      const pairs: [number, number][] = range(9).map((i) => [i, 10 * i]);
      assert.deepEqual(
        await within(20_000, pool.starmap(add, pairs)),
        range(9).map((i) => 11 * i),
      );
      assert.deepEqual(
        await within(20_000, pool.starmap(add, pairs, { chunksize: 4 })),
        range(9).map((i) => 11 * i),
      );
    });

    it('yields imap results in order and imapUnordered results all exactly once', async () => {
      const ordered: number[] = [];
      for await (const y of pool.imap(inc, range(50), { chunksize: 3 })) ordered.push(y);
      assert.deepEqual(ordered, range(50, 1));
      const unordered: number[] = [];
      for await (const y of pool.imapUnordered(inc, [] as number[])) unordered.push(y);
      assert.equal(unordered.length, 0);
      for await (const y of pool.imapUnordered(inc, range(50))) unordered.push(y);
      assert.deepEqual(
        unordered.sort((a, b) => a - b),
        range(50, 1),
      );
    });

    it('takes items from an endless generator only as fast as results are consumed', async () => {
      function* naturals() {
        for (let i = 0; ; i++) yield i;
      }
      const got: number[] = [];
      for await (const y of pool.imap(inc, naturals())) {
        got.push(y);
        if (got.length === 1000) break;
      }
      assert.deepEqual(got, range(1000, 1));
    });

    it('applies a function with arguments, and applyAsync gives a future and calls its callback', async () => {
      assert.equal(await within(20_000, pool.apply(add, [2, 3])), 5);
      let called: unknown;
      const future = pool.applyAsync(echo, [1, 'two', { three: [3] }], { callback: (v) => (called = v) });
      assert.deepEqual(await within(20_000, future.result()), [1, 'two', { three: [3] }]);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(called, [1, 'two', { three: [3] }]);
    });

    it('sends and returns instances of exported classes with their prototype', async () => {
      const p = await within(20_000, pool.apply(mirror, [new Point(3, 4)]));
      assert.ok(p instanceof Point);
      assert.deepEqual([p.x, p.y, p.norm()], [4, 3, 5]);
    });

    it('rejects map with the error of the first failing item, and the pool goes on', async () => {
      const err = await rejection(pool.map(failOnSeven, range(20)));
      assert.ok(err instanceof RangeError);
      assert.equal(err.message, 'bad item 7');
      assert.deepEqual(await within(20_000, pool.map(inc, [1, 2])), [2, 3]);
    });

    it('refuses a function that is not exported, or an argument that cannot cross, before anything runs', async () => {
      assert.throws(() => pool.applyAsync(notExported, [1]), TargetNotFoundError);
      assert.throws(() => pool.applyAsync(echo, [() => 1]), NotCloneableError);
      assert.ok((await rejection(pool.map(notExported, [1]))) instanceof TargetNotFoundError);
    });
  });
}
