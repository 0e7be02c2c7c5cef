// How tasks are shared out to the workers (src/pool/batching.ts): what the pool learned about one
// function never makes it queue another function's tasks behind a busy worker while another
// worker is free. Each test holds one worker with a task gated on an Event and checks which
// worker ran the others, and that they came back while the gate was still shut: no test here
// depends on how long anything takes.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Event, Pool } from 'threadkit';
import { gated, who } from '../fixtures/batching-targets.ts';
import { KINDS, range, within } from './helpers.ts';

/** Runs tiny `who` calls until both workers of a 2-worker pool have answered: both are ready, and `who` is measured as tiny. */
/** Both workers up, and `gated` measured as a tiny function by 500 calls of it. */
async function measureAsTiny(pool: Pool): Promise<void> {
  await warm(pool);
  await within(
    20_000,
    pool.map(
      gated,
      range(500).map(() => null),
    ),
    'measuring `gated` as tiny',
  );
}

async function warm(pool: Pool): Promise<string[]> {
  const seen = new Set<string>();
  await within(
    20_000,
    (async () => {
      while (seen.size < 2) for (const w of await pool.map(who, range(500))) seen.add(w);
    })(),
    'both workers to answer',
  );
  return [...seen];
}

for (const kind of KINDS) {
  describe(`batching (${kind})`, () => {
    it('sends the first calls of a function not measured yet one at a time, though another was measured as tiny', async (t) => {
      const pool = new Pool({ processes: 2, kind });
      t.after(() => pool.terminate());
      await warm(pool);
      const gate = new Event();
      t.after(() => gate.set());
      // `gated` never ran here: pool-wide, the 2000 tiny `who` calls made these three one batch of two and one of one.
      const held = pool.applyAsync(gated, [gate]);
      const free = [pool.applyAsync(gated, [null]), pool.applyAsync(gated, [null])];
      const [a, b] = await within(10_000, Promise.all(free.map((f) => f.result())), 'the calls behind the held one');
      assert.equal(a, b, 'both ran on the worker that was free');
      gate.set();
      assert.notEqual(await within(10_000, held.result()), a, 'the held call had the other worker');
      await within(10_000, pool.terminate());
    });

    it('queues nothing behind a worker busy longer than its batch should take, though its function was measured as tiny', async (t) => {
      const pool = new Pool({ processes: 2, kind });
      t.after(() => pool.terminate());
      await measureAsTiny(pool);
      const gate = new Event();
      t.after(() => gate.set());
      const held = pool.applyAsync(gated, [gate]);
      // Far longer than the 2 ms a worker may have been busy and still be given a second batch.
      await within(10_000, new Promise<void>((resolve) => setTimeout(resolve, 100)));
      const free = range(10).map(() => pool.applyAsync(gated, [null]));
      const ran = await within(10_000, Promise.all(free.map((f) => f.result())), 'the calls submitted while one worker was held');
      assert.equal(new Set(ran).size, 1, `all ran on the free worker: ${ran}`);
      gate.set();
      assert.notEqual(await within(10_000, held.result()), ran[0]);
      await within(10_000, pool.terminate());
    });

    for (const chunksize of [1, 2]) {
      it(`honours an explicit chunksize of ${chunksize}: each task goes on its own to a free worker, never behind a busy one`, async (t) => {
        const pool = new Pool({ processes: 2, kind });
        t.after(() => pool.terminate());
        // Measured as tiny: left to itself, the pool would batch these.
        await measureAsTiny(pool);
        const gate = new Event();
        t.after(() => gate.set());
        const items = [gate, ...range(2 * chunksize - 1 + chunksize).map(() => null)];
        const it = pool.imapUnordered(gated, items, { chunksize });
        // The first task holds one worker; every other item comes back from the other while the gate is shut.
        const free: string[] = [];
        await within(
          10_000,
          (async () => {
            while (free.length < items.length - chunksize) free.push((await it.next()).value as string);
          })(),
          'the items behind the held task',
        );
        assert.equal(new Set(free).size, 1, `all ran on the free worker: ${free}`);
        gate.set();
        const rest: string[] = [];
        for await (const w of { [Symbol.asyncIterator]: () => it }) rest.push(w);
        assert.equal(rest.length, chunksize);
        assert.notEqual(rest[0], free[0], 'the held task had the other worker');
        await within(10_000, pool.terminate());
      });
    }

    it('shares tiny tasks evenly between idle workers', async (t) => {
      const pool = new Pool({ processes: 2, kind });
      t.after(() => pool.terminate());
      const workers = await warm(pool);
      const ran = await within(20_000, Promise.all(range(4).map(() => pool.apply(who, []))));
      const counts = workers.map((w) => ran.filter((r) => r === w).length);
      assert.deepEqual(counts, [2, 2], `4 tasks on 2 idle workers: ${ran}`);
      await within(10_000, pool.terminate());
    });
  });
}
