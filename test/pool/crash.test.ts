// A worker that dies takes only its own tasks with it; the pool replaces it and goes on.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pool, WorkerDiedError } from 'threadkit';
import { exitWith, inc, killSelf, sleepThen } from '../fixtures/pool-targets.ts';
import { assertNoLeaks, KINDS, range, rejection, within } from './helpers.ts';

for (const kind of KINDS) {
  describe(`a worker that dies (${kind})`, () => {
    it('rejects the task that called process.exit with WorkerDiedError, and every other task succeeds', async () => {
      const pool = new Pool({ processes: 2, kind });
      const crash = pool.applyAsync(exitWith, [3]);
      const others = range(20).map((i) => pool.applyAsync(sleepThen, [5, i]));
      const err = await rejection(crash.result());
      assert.ok(err instanceof WorkerDiedError, String(err));
      assert.equal(err.code, 'TK_WORKER_DIED');
      assert.match(err.message, /code 3/);
      assert.deepEqual(await within(20_000, Promise.all(others.map((f) => f.result()))), range(20));
      assert.deepEqual(await within(20_000, pool.map(inc, range(100))), range(100, 1), 'the healed pool runs more work');
      assert.ok(pool.stats().started >= 3, 'a replacement worker was started');
      await within(10_000, pool.terminate());
      await assertNoLeaks(pool);
    });

    if (kind === 'process') {
      it('rejects the task whose process was killed with SIGKILL, and the pool goes on', async () => {
        const pool = new Pool({ processes: 2, kind });
        const err = await rejection(pool.apply(killSelf, []));
        assert.ok(err instanceof WorkerDiedError);
        assert.match(err.message, /SIGKILL/);
        assert.equal(await within(20_000, pool.apply(inc, [1])), 2);
        await within(10_000, pool.terminate());
        await assertNoLeaks(pool);
      });
    }
  });
}
