import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InvalidArgumentError, InvalidStateError, Lock, LockNotHeldError, LockOwnerDiedError, RLock } from 'threadkit';
import { counters, liveWorkers, MODES, pauseMs, runBunch, startBunch, stopBunch, waitUntil } from '../helpers/workers.ts';
import { assertCellsTimedOut, resolvesAfter } from '../helpers/timing.ts';

const T = { timeout: 30_000 };

afterEach(() => assert.equal(liveWorkers(), 0, 'every worker this test started has exited'));

for (const mode of MODES) {
  describe(`Lock contract (${mode})`, () => {
    it('an acquirer waits while the lock is held and gets it once released', T, async () => {
      const lock = new Lock();
      const p = counters();
      await lock.acquire();
      const bunch = startBunch(mode, 'acquireRelease', 1, { prim: lock, p });
      try {
        await waitUntil(() => Atomics.load(p, 0) === 1);
        await pauseMs(20);
        assert.equal(Atomics.load(p, 1), 0, 'the acquirer did not get a held lock');
        lock.release();
        assert.deepEqual(await bunch.results, [true]);
        assert.equal(lock.locked(), false);
      } finally {
        await stopBunch(bunch);
      }
    });

    it('acquire with a timeout resolves false while another holds the lock', T, async () => {
      const lock = new Lock();
      await lock.acquire();
      const t = counters();
      assert.deepEqual(await runBunch(mode, 'acquireTimeout', 2, { prim: lock, timeoutMs: 30, t }), [false, false]);
      assertCellsTimedOut(t, 2, 30);
      assert.deepEqual(await runBunch(mode, 'acquireTimeout', 1, { prim: lock, timeoutMs: 0 }), [false]);
      lock.release();
    });

    it('a lock acquired in one thread can be released by another', T, async () => {
      const lock = new Lock();
      assert.deepEqual(await runBunch(mode, 'acquireOnly', 1, { prim: lock, p: counters() }), [true]);
      assert.equal(lock.locked(), true);
      lock.release();
      assert.equal(lock.locked(), false);
      await lock.acquire();
      assert.deepEqual(await runBunch(mode, 'releaseCode', 1, { prim: lock }), ['released']);
      assert.equal(lock.locked(), false);
    });

    it('release of an unlocked lock throws LockNotHeldError', T, async () => {
      const lock = new Lock();
      assert.deepEqual(await runBunch(mode, 'releaseCode', 1, { prim: lock }), ['TK_LOCK_NOT_HELD']);
      assert.throws(() => lock.release(), LockNotHeldError);
    });

    // The blocking API takes no signal: this contract has no workers-sync case.
    if (mode !== 'workers-sync')
      it('an acquire aborted while it waits rejects with the reason and leaves the lock as it was', T, async () => {
        const lock = new Lock();
        await lock.acquire();
        assert.deepEqual(await runBunch(mode, 'acquireAborted', 2, { prim: lock, p: counters() }), ['aborted by the body', 'aborted by the body']);
        lock.release();
        assert.equal(lock.locked(), false);
        assert.equal(await lock.acquire({ timeoutMs: 1000 }), true);
        lock.release();
      });

    it('4 threads x many increments of a plain cell under the lock add up exactly', T, async () => {
      const workers = mode !== 'tasks';
      for (let run = 0; run < 2; run++) {
        const lock = new Lock();
        const cell = counters(1);
        const iterations = workers ? 20_000 : 2_000;
        await runBunch(mode, 'increment', 4, { prim: lock, cell, iterations, yieldEvery: workers ? 0 : 3 });
        assert.equal(cell[0], 4 * iterations);
        assert.equal(lock.locked(), false);
      }
    });

    it('a waiter gets the lock while another thread releases and re-acquires it in a loop', T, async () => {
      const lock = new Lock();
      const p = counters();
      const bunch = startBunch(mode, 'hammer', 1, { prim: lock, p });
      try {
        await waitUntil(() => Atomics.load(p, 0) === 1);
        assert.equal(await lock.acquire({ timeoutMs: 10_000 }), true, 'the waiter was served');
        Atomics.store(p, 2, 1);
        lock.release();
        await bunch.results;
      } finally {
        Atomics.store(p, 2, 1);
        await stopBunch(bunch);
      }
    });
  });
}

describe('Lock', () => {
  it('an uncontended acquire returns the same resolved promise every time', async () => {
    const lock = new Lock();
    const first = lock.acquire();
    lock.release();
    const second = lock.acquire();
    lock.release();
    assert.equal(first, second);
    assert.equal(await first, true);
  });

  it('tryAcquire takes a free lock and refuses a held one', () => {
    const lock = new Lock();
    assert.equal(lock.tryAcquire(), true);
    assert.equal(lock.tryAcquire(), false);
    lock.release();
    assert.equal(lock.locked(), false);
  });

  it('acquire with timeoutMs 0 resolves at once, and negative timeouts other than -1 are refused', async () => {
    const lock = new Lock();
    assert.equal(await lock.acquire({ timeoutMs: 0 }), true);
    assert.equal(await lock.acquire({ timeoutMs: 0 }), false);
    await assert.rejects(lock.acquire({ timeoutMs: -5 }), InvalidArgumentError);
    assert.throws(() => lock.acquireSync({ timeoutMs: -2 }), InvalidArgumentError);
    await resolvesAfter(() => lock.acquire({ timeoutMs: 20 }), false, 20);
    lock.release();
    assert.equal(await lock.acquire({ timeoutMs: -1 }), true);
    lock.release();
  });

  it('an already aborted signal rejects with its reason even when the lock is free', async () => {
    const lock = new Lock();
    const reason = new Error('stop');
    await assert.rejects(lock.acquire({ signal: AbortSignal.abort(reason) }), (err) => err === reason);
    assert.equal(lock.locked(), false);
  });

  it('acquireSync on the main thread is refused whether or not the lock is free, except as a plain try (timeoutMs 0)', () => {
    const lock = new Lock();
    assert.throws(
      () => lock.acquireSync(),
      (err: Error) => err instanceof InvalidStateError && /await lock\.acquire\(\)/.test(err.message),
    );
    assert.equal(lock.locked(), false, 'the refused call took nothing');
    assert.equal(lock.acquireSync({ timeoutMs: 0 }), true);
    assert.equal(lock.acquireSync({ timeoutMs: 0 }), false);
    assert.throws(() => lock.acquireSync(), InvalidStateError);
    assert.throws(() => lock.acquireSync({ timeoutMs: 100 }), InvalidStateError);
    lock.release();
  });

  it('withLock releases after the function returns or throws', async () => {
    const lock = new Lock();
    assert.equal(await lock.withLock(() => (assert.equal(lock.locked(), true), 42)), 42);
    assert.equal(lock.locked(), false);
    await assert.rejects(
      lock.withLock(async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(lock.locked(), false);
  });

  it('hold() returns a guard that using releases at the end of the block', async () => {
    const lock = new Lock();
    {
      using _guard = await lock.hold();
      assert.equal(lock.locked(), true);
    }
    assert.equal(lock.locked(), false);
    {
      await lock.acquire();
      using _held = lock;
    }
    assert.equal(lock.locked(), false);
  });

  it('async tasks exclude each other across awaits', async () => {
    const lock = new Lock();
    let inside = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 50; i++) {
          assert.equal(await lock.acquire({ timeoutMs: 10_000 }), true);
          peak = Math.max(peak, ++inside);
          await new Promise((r) => setImmediate(r));
          inside--;
          lock.release();
        }
      }),
    );
    assert.equal(peak, 1);
  });

  it('a lock revived from its shared state is the same lock', () => {
    const lock = new Lock({ name: 'accounts' });
    const buffer = new SharedArrayBuffer(64);
    const a = new Lock({ buffer, byteOffset: 16 });
    const b = new Lock({ buffer, byteOffset: 16 });
    assert.equal(a.tryAcquire(), true);
    assert.equal(b.locked(), true);
    b.release();
    assert.equal(a.locked(), false);
    assert.throws(() => new Lock({ buffer, byteOffset: 60 }), InvalidArgumentError);
    assert.equal(lock.locked(), false);
  });
});

describe('Lock whose holder died', () => {
  for (const mode of ['workers', 'workers-sync'] as const) {
    it(`is poisoned: waiters and later acquirers throw LockOwnerDiedError until recover() (${mode})`, T, async () => {
      const lock = new Lock({ name: 'ledger' });
      const p = counters();
      const holder = startBunch(mode, 'holdForever', 1, { prim: lock, p });
      await waitUntil(() => Atomics.load(p, 0) === 1);
      const waiter = startBunch(mode, 'acquireCode', 1, { prim: lock, p });
      try {
        await waitUntil(() => Atomics.load(p, 1) === 1);
        const mainWaiter = lock.acquire({ timeoutMs: 10_000 });
        await stopBunch(holder);
        await assert.rejects(mainWaiter, (err: unknown) => err instanceof LockOwnerDiedError && /Lock "ledger".*recover\(\)/.test(err.message));
        assert.deepEqual(await waiter.results, ['TK_LOCK_OWNER_DIED']);
        assert.equal(lock.poisoned, true);
        assert.throws(() => lock.tryAcquire(), LockOwnerDiedError);
        await assert.rejects(lock.acquire({ timeoutMs: 0 }), LockOwnerDiedError);
        assert.equal(lock.recover(), true);
        assert.equal(lock.recover(), false);
        assert.equal(lock.locked(), false);
        assert.equal(await lock.acquire({ timeoutMs: 1000 }), true);
        lock.release();
      } finally {
        await stopBunch(holder);
        await stopBunch(waiter);
      }
    });
  }

  for (const Kind of [Lock, RLock]) {
    it(`${Kind.name}.poisoned reads true at once after the holder died, before any acquire tripped over it`, T, async () => {
      const lock = new Kind();
      const p = counters();
      const holder = startBunch('workers', 'holdForever', 1, { prim: lock, p });
      await waitUntil(() => Atomics.load(p, 0) === 1);
      assert.equal(lock.poisoned, false, 'held by a live holder');
      await stopBunch(holder);
      assert.equal(lock.poisoned, true);
      assert.equal(lock.locked(), true, 'a poisoned lock reads as locked');
      assert.throws(() => lock.tryAcquire(), LockOwnerDiedError);
      assert.equal(lock.recover(), true);
      assert.equal(lock.poisoned, false);
      assert.equal(await lock.acquire({ timeoutMs: 1000 }), true);
      lock.release();
    });
  }

  it('a later acquirer finds out at once, without any waiter having noticed', T, async () => {
    const lock = new Lock();
    const p = counters();
    const holder = startBunch('workers', 'holdForever', 1, { prim: lock, p });
    await waitUntil(() => Atomics.load(p, 0) === 1);
    await stopBunch(holder);
    assert.throws(() => lock.tryAcquire(), LockOwnerDiedError);
  });
});
