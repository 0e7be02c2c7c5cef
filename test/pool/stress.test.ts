// Many tiny tasks at once: every result arrives exactly once.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pool, ProcessPoolExecutor, ThreadPoolExecutor } from 'threadkit';
import { inc } from '../fixtures/pool-targets.ts';
import { assertNoLeaks, KINDS, range, within } from './helpers.ts';

const N = 20_000;
const SUM = (N * (N + 1)) / 2; // Σ (i + 1) for i < N

for (const kind of KINDS) {
  describe(`stress (${kind})`, () => {
    it(`runs ${N} tiny submitted tasks and their results add up exactly`, async () => {
      const ex = kind === 'thread' ? new ThreadPoolExecutor({ maxWorkers: 2 }) : new ProcessPoolExecutor({ maxWorkers: 2 });
      const futures = range(N).map((i) => ex.submit(inc, i));
      const results = await within(30_000, Promise.all(futures.map((f) => f.result())));
      assert.equal(results.length, N);
      assert.equal(
        results.reduce((a, b) => a + b, 0),
        SUM,
      );
      await within(10_000, ex.shutdown());
      await assertNoLeaks(ex);
    });

    it(`maps ${N} items with imapUnordered and gets each result exactly once`, async () => {
      const pool = new Pool({ processes: 2, kind });
      const seen = new Uint8Array(N + 1);
      let sum = 0;
      for await (const y of pool.imapUnordered(inc, range(N))) {
        seen[y]!++;
        sum += y;
      }
      assert.equal(sum, SUM);
      assert.ok(seen.slice(1).every((c) => c === 1));
      await within(10_000, pool.terminate());
      await assertNoLeaks(pool);
    });
  });
}
