// The Queue contract across async tasks, Threads on the async API and Threads on the blocking API.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { Queue } from 'threadkit';
import { consume, consumeSized, getOne, getOneTimed, produce, produceSized, putOne, putOneTimed } from '../fixtures/queue-targets.ts';
import { within } from '../helpers/deadline.ts';
import { assertTimedOut } from '../helpers/timing.ts';
import { assertNoThreadLeft, BACKENDS, run, start } from './backends.ts';

const T = { timeout: 40_000 };

after(assertNoThreadLeft);

for (const backend of BACKENDS) {
  describe(`Queue contract (${backend})`, () => {
    it("3 producers x 5000 items and 2 consumers: every item arrives exactly once, in each producer's order", T, async () => {
      const q = new Queue<number>({ maxsize: 64 });
      const N = 5_000;
      const consumers = start(backend, [
        [consume, [q]],
        [consume, [q]],
      ]);
      const produced = await run(
        backend,
        [0, 1, 2].map((p) => [produce, [q, p * N, N]] as const),
      );
      assert.deepEqual(produced, [N, N, N]);
      q.close();
      const streams = (await within(30_000, consumers.results)) as number[][];
      const all = streams.flat();
      assert.equal(all.length, 3 * N);
      assert.equal(
        all.reduce((a, b) => a + b, 0),
        ((3 * N - 1) * 3 * N) / 2,
      );
      assert.deepEqual(
        [...all].sort((a, b) => a - b),
        Array.from({ length: 3 * N }, (_, i) => i),
      );
      for (const stream of streams) {
        for (let p = 0; p < 3; p++) {
          const mine = stream.filter((x) => Math.floor(x / N) === p);
          assert.ok(
            mine.every((x, i) => i === 0 || x > mine[i - 1]!),
            `a consumer saw producer ${p}'s items out of order`,
          );
        }
      }
    });

    it('items of varied sizes through a 4 KiB ring wrap around its end and arrive intact, exactly once', T, async () => {
      const q = new Queue<string>({ capacityBytes: 4096 });
      const N = 1_500;
      const consumers = start(backend, [
        [consumeSized, [q]],
        [consumeSized, [q]],
      ]);
      assert.deepEqual(
        await run(backend, [
          [produceSized, [q, 0, N]],
          [produceSized, [q, N, N]],
        ]),
        [N, N],
      );
      q.close();
      const ids = ((await within(30_000, consumers.results)) as number[][]).flat();
      assert.deepEqual(
        ids.sort((a, b) => a - b),
        Array.from({ length: 2 * N }, (_, i) => i),
      );
    });

    it('a getter waiting on an empty queue gets the item put by the main thread', T, async () => {
      const q = new Queue<string>();
      const getter = start(backend, [[getOne, [q, 20_000]]]);
      await sleep(50);
      await q.put('hello');
      assert.deepEqual(await within(20_000, getter.results), ['hello']);
    });

    it('a get with a timeout on an empty queue gives up with QueueEmptyError', T, async () => {
      const q = new Queue();
      const [[code, ms], zero] = (await run(backend, [
        [getOneTimed, [q, 30]],
        [getOne, [q, 0]],
      ])) as [[string, number], string];
      assert.deepEqual([code, zero], ['TK_QUEUE_EMPTY', 'TK_QUEUE_EMPTY']);
      assertTimedOut(ms, 30);
    });

    it('a put with a timeout on a full queue gives up with QueueFullError and the item stays out', T, async () => {
      const q = new Queue({ maxsize: 1 });
      q.putNowait('first');
      const [[code, ms]] = (await run(backend, [[putOneTimed, [q, 'second', 30]]])) as [[string, number]];
      assert.equal(code, 'TK_QUEUE_FULL');
      assertTimedOut(ms, 30);
      assert.equal(q.qsize(), 1);
      assert.equal(q.getNowait(), 'first');
    });

    it('a putter blocked on a full queue goes in once the main thread takes an item', T, async () => {
      const q = new Queue<string>({ maxsize: 1 });
      q.putNowait('first');
      const putter = start(backend, [[putOne, [q, 'second', 20_000]]]);
      await sleep(50);
      assert.equal(q.qsize(), 1);
      assert.equal(await q.get(), 'first');
      assert.deepEqual(await within(20_000, putter.results), ['ok']);
      assert.equal(await q.get({ timeoutMs: 1_000 }), 'second');
    });

    it('close wakes every waiting getter with ClosedError', T, async () => {
      const q = new Queue();
      const getters = start(backend, [
        [getOne, [q, 20_000]],
        [getOne, [q, 20_000]],
      ]);
      await sleep(50);
      q.close();
      assert.deepEqual(await within(20_000, getters.results), ['TK_CLOSED', 'TK_CLOSED']);
    });

    it('items of every structured-clone type arrive intact from another thread', T, async () => {
      const q = new Queue<unknown>();
      const item = {
        map: new Map([[1, { deep: [1n, -0, NaN] }]]),
        set: new Set(['a']),
        date: new Date(86_400_000),
        bytes: new Float64Array([1.5, 2.5]),
        text: 'naïve ✓',
      };
      await q.put(item);
      assert.deepEqual(await run(backend, [[getOne, [q, 5_000]]]), [item]);
    });
  });
}
