// Stopping running tasks: the task's signal fires first, and its worker is replaced when it does not stop.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError, InvalidStateError, Pool, ThreadPoolExecutor, TimeoutError } from 'threadkit';
import { blockFor, inc, sleepThen, taskId, untilAborted } from '../fixtures/pool-targets.ts';
import { assertNoLeaks, KINDS, range, rejection, within } from './helpers.ts';

async function untilRunning(f: { running(): boolean }): Promise<void> {
  await within(
    20_000,
    new Promise<void>((resolve) => {
      const t = setInterval(() => f.running() && (clearInterval(t), resolve()), 2);
    }),
    'the task to start',
  );
}

for (const kind of KINDS) {
  describe(`cancelling running tasks (${kind})`, () => {
    it('fires the task signal on abort(); a task that heeds it ends and its worker stays', async () => {
      const pool = new Pool({ processes: 1, kind, cancelGraceMs: 5_000 });
      const f = pool.applyAsync(untilAborted, [10_000]);
      await untilRunning(f);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(f.abort(), true);
      assert.equal(f.cancelled(), true);
      assert.ok((await rejection(f.result())) instanceof CancelledError);
      assert.equal(await within(20_000, pool.apply(inc, [1])), 2);
      assert.equal(pool.stats().started, 1, 'the worker was not replaced');
      await within(10_000, pool.terminate());
      await assertNoLeaks(pool);
    });

    it('terminates and replaces the worker of an aborted task that blocks past the grace period', async (t) => {
      const pool = new Pool({ processes: 1, kind, cancelGraceMs: 100 });
      t.after(() => pool.terminate());
      const f = pool.applyAsync(blockFor, [60_000]);
      await untilRunning(f);
      await new Promise((r) => setTimeout(r, 50));
      f.abort();
      assert.ok((await rejection(f.result())) instanceof CancelledError);
      assert.equal(await within(20_000, pool.apply(inc, [1])), 2, 'the next task runs on a replacement worker');
      assert.equal(pool.stats().started, 2);
      await within(10_000, pool.terminate());
      await assertNoLeaks(pool);
    });

    it('runs the tasks sent in one batch behind an aborted task that blocks on the replacement worker: they had not started', async (t) => {
      const pool = new Pool({ processes: 1, kind, cancelGraceMs: 100 });
      t.after(() => pool.terminate());
      // Both functions measured as tiny (what the pool learns is per function), tasks then travel
      // several to a batch: the blocker and the five behind it go together.
      await within(20_000, pool.map(inc, range(200)));
      await within(
        20_000,
        pool.map(
          blockFor,
          range(200).map(() => 0),
        ),
      );
      const f = pool.applyAsync(blockFor, [60_000]);
      const behind = range(5).map((i) => pool.applyAsync(inc, [i]));
      await untilRunning(f);
      await new Promise((r) => setTimeout(r, 50));
      f.abort();
      assert.ok((await rejection(f.result())) instanceof CancelledError);
      assert.deepEqual(await within(20_000, Promise.all(behind.map((b) => b.result()))), range(5, 1));
      assert.equal(pool.stats().started, 2, 'the blocked worker was replaced');
      await within(10_000, pool.terminate());
      await assertNoLeaks(pool);
    });

    it('rejects a task that runs past timeoutMs with TimeoutError, signals it, and replaces a worker it blocks', async (t) => {
      const pool = new Pool({ processes: 1, kind, cancelGraceMs: 100 });
      t.after(() => pool.terminate());
      const heeds = pool.applyAsync(untilAborted, [10_000], { timeoutMs: 100 });
      const err = await rejection(heeds.result());
      assert.ok(err instanceof TimeoutError);
      assert.equal(pool.stats().started, 1, 'a task that heeds its signal keeps its worker');
      const blocks = pool.applyAsync(blockFor, [60_000], { timeoutMs: 100 });
      assert.ok((await rejection(blocks.result())) instanceof TimeoutError);
      assert.equal(await within(20_000, pool.apply(sleepThen, [1, 'after'])), 'after');
      assert.equal(pool.stats().started, 2, 'the blocked worker was replaced');
      await within(10_000, pool.terminate());
      await assertNoLeaks(pool);
    });

    it('gives the task its own id in currentTask()', async () => {
      await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
      const id = await within(20_000, ex.submit(taskId).result());
      assert.ok(id > 0);
    });

    it('terminate() cancels queued and running tasks and stops every worker', async (t) => {
      const pool = new Pool({ processes: 2, kind });
      const running = [pool.applyAsync(blockFor, [60_000]), pool.applyAsync(blockFor, [60_000])];
      t.after(() => pool.terminate());
      await Promise.all(running.map(untilRunning));
      const queued = pool.applyAsync(inc, [1]);
      await within(10_000, pool.terminate());
      for (const f of [...running, queued]) assert.ok((await rejection(f.result())) instanceof CancelledError);
      await assertNoLeaks(pool);
      assert.throws(() => pool.applyAsync(inc, [1]), InvalidStateError);
    });
  });
}
