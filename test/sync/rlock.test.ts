import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InvalidStateError, LockNotHeldError, LockNotOwnedError, RLock } from 'threadkit';
import { newTaskId, taskStorage } from '../../dist/internal/for-tests.js';
import { counters, liveWorkers, MODES, pauseMs, runBunch, startBunch, stopBunch, waitUntil } from '../helpers/workers.ts';
import { assertCellsTimedOut, resolvesAfter } from '../helpers/timing.ts';

const T = { timeout: 30_000 };
const inTask = <R>(fn: () => Promise<R>): Promise<R> => taskStorage.run(newTaskId(), fn);

afterEach(() => assert.equal(liveWorkers(), 0, 'every worker this test started has exited'));

for (const mode of MODES) {
  describe(`RLock contract (${mode})`, () => {
    it('another thread waits while the lock is held, however deep, until the last release', T, async () => {
      const lock = new RLock();
      const p = counters();
      await inTask(async () => {
        await lock.acquire();
        await lock.acquire();
        const bunch = startBunch(mode, 'acquireRelease', 1, { prim: lock, p });
        try {
          await waitUntil(() => Atomics.load(p, 0) === 1);
          lock.release();
          await pauseMs(20);
          assert.equal(Atomics.load(p, 1), 0, 'still held once');
          lock.release();
          assert.deepEqual(await bunch.results, [true]);
        } finally {
          await stopBunch(bunch);
        }
      });
      assert.equal(lock.locked(), false);
    });

    it('release by a thread that does not own the lock throws LockNotOwnedError', T, async () => {
      const lock = new RLock();
      await inTask(async () => {
        await lock.acquire();
        assert.deepEqual(await runBunch(mode, 'releaseCode', 1, { prim: lock }), ['TK_LOCK_NOT_OWNED']);
        lock.release();
      });
      assert.deepEqual(await runBunch(mode, 'releaseCode', 1, { prim: lock }), ['TK_LOCK_NOT_HELD']);
    });

    it('acquire with a timeout resolves false while another owns the lock', T, async () => {
      const lock = new RLock();
      await inTask(async () => {
        await lock.acquire();
        const t = counters();
        assert.deepEqual(await runBunch(mode, 'acquireTimeout', 2, { prim: lock, timeoutMs: 30, t }), [false, false]);
        assertCellsTimedOut(t, 2, 30);
        lock.release();
      });
    });

    it('4 threads x many re-entrant increments of a plain cell add up exactly', T, async () => {
      const workers = mode !== 'tasks';
      for (let run = 0; run < 2; run++) {
        const lock = new RLock();
        const cell = counters(1);
        const iterations = workers ? 20_000 : 2_000;
        await runBunch(mode, 'increment', 4, { prim: lock, cell, iterations, yieldEvery: workers ? 0 : 3 });
        assert.equal(cell[0], 4 * iterations);
        assert.equal(lock.locked(), false);
      }
    });
  });
}

describe('RLock', () => {
  it('its owner acquires it again and must release it as many times', async () => {
    const lock = new RLock();
    assert.equal(await lock.acquire(), true);
    assert.equal(await lock.acquire({ timeoutMs: 0 }), true);
    assert.equal(lock.tryAcquire(), true);
    assert.equal(lock.acquireSync({ timeoutMs: 0 }), true);
    assert.throws(() => lock.acquireSync(), InvalidStateError, 'a blocking re-entry on the main thread is refused like any other');
    assert.equal(lock.isOwned(), true);
    for (let i = 0; i < 3; i++) {
      lock.release();
      assert.equal(lock.locked(), true);
    }
    lock.release();
    assert.equal(lock.locked(), false);
    assert.equal(lock.isOwned(), false);
    assert.throws(() => lock.release(), LockNotHeldError);
  });

  it('two threadkit tasks on one thread are different owners', async () => {
    const lock = new RLock();
    await inTask(async () => {
      await lock.acquire();
      await inTask(async () => {
        assert.equal(lock.tryAcquire(), false);
        await resolvesAfter(() => lock.acquire({ timeoutMs: 20 }), false, 20);
        assert.throws(() => lock.release(), LockNotOwnedError);
      });
      lock.release();
    });
    assert.equal(lock.locked(), false);
  });

  it('an aborted acquire rejects with the reason and does not change the depth', async () => {
    const lock = new RLock();
    await inTask(async () => {
      await lock.acquire();
      await inTask(async () => {
        const ac = new AbortController();
        const pending = lock.acquire({ signal: ac.signal });
        setTimeout(() => ac.abort(new Error('stop')), 10);
        await assert.rejects(pending, /stop/);
      });
      lock.release();
    });
    assert.equal(lock.locked(), false);
  });

  it('hold() and withLock release once', async () => {
    const lock = new RLock();
    await lock.acquire();
    {
      using _g = await lock.hold();
      assert.equal(await lock.withLock(() => 7), 7);
    }
    assert.equal(lock.locked(), true);
    lock.release();
    assert.equal(lock.locked(), false);
  });
});
