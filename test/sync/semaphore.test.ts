import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { BoundedSemaphore, InvalidArgumentError, InvalidStateError, Semaphore, SemaphoreOverflowError } from 'threadkit';
import { counters, liveWorkers, MODES, pauseMs, runBunch, startBunch, stopBunch, waitUntil } from '../helpers/workers.ts';
import { assertCellsTimedOut } from '../helpers/timing.ts';

const T = { timeout: 30_000 };

afterEach(() => assert.equal(liveWorkers(), 0, 'every worker this test started has exited'));

for (const mode of MODES) {
  describe(`Semaphore contract (${mode})`, () => {
    it('acquirers wait at zero, and release(n) lets exactly n of them through', T, async () => {
      const sem = new Semaphore(0);
      const p = counters();
      const bunch = startBunch(mode, 'acquireOnly', 4, { prim: sem, p });
      try {
        await pauseMs(20);
        assert.equal(Atomics.load(p, 1), 0);
        sem.release(3);
        await waitUntil(() => Atomics.load(p, 1) === 3);
        await pauseMs(30);
        assert.equal(Atomics.load(p, 1), 3, 'a fourth did not pass');
        sem.release();
        assert.deepEqual(await bunch.results, [true, true, true, true]);
        assert.equal(sem.value, 0);
      } finally {
        await stopBunch(bunch);
      }
    });

    it('acquire with a timeout resolves false at zero', T, async () => {
      const sem = new Semaphore(0);
      const t = counters();
      assert.deepEqual(await runBunch(mode, 'acquireTimeout', 2, { prim: sem, timeoutMs: 30, t }), [false, false]);
      assertCellsTimedOut(t, 2, 30);
      assert.equal(sem.value, 0);
    });

    it('never more holders than the initial value', T, async () => {
      const sem = new Semaphore(2);
      const p = counters();
      await runBunch(mode, 'semPeak', 4, { sem, p, iterations: mode === 'tasks' ? 200 : 2_000 });
      assert.ok(Atomics.load(p, 1) <= 2, `peak ${Atomics.load(p, 1)}`);
      assert.equal(sem.value, 2);
    });

    it('4 threads x many increments of a plain cell under Semaphore(1) add up exactly', T, async () => {
      const sem = new Semaphore(1);
      const cell = counters(1);
      const iterations = mode === 'tasks' ? 2_000 : 20_000;
      await runBunch(mode, 'increment', 4, { prim: sem, cell, iterations, yieldEvery: mode === 'tasks' ? 3 : 0 });
      assert.equal(cell[0], 4 * iterations);
    });

    it('a BoundedSemaphore refuses a release above its initial value, from any thread', T, async () => {
      const sem = new BoundedSemaphore(1);
      assert.deepEqual(await runBunch(mode, 'releaseCode', 1, { prim: sem }), ['TK_SEMAPHORE_OVERFLOW']);
      assert.equal(sem.value, 1);
    });
  });
}

describe('Semaphore', () => {
  it('counts down with tryAcquire and up with release', () => {
    const sem = new Semaphore(2);
    assert.equal(sem.tryAcquire(), true);
    assert.equal(sem.tryAcquire(), true);
    assert.equal(sem.tryAcquire(), false);
    sem.release(2);
    assert.equal(sem.value, 2);
    assert.equal(new Semaphore().value, 1);
  });

  it('a negative or fractional initial value, or release(0), is refused', () => {
    assert.throws(() => new Semaphore(-1), InvalidArgumentError);
    assert.throws(() => new Semaphore(1.5), InvalidArgumentError);
    assert.throws(() => new Semaphore(1).release(0), InvalidArgumentError);
  });

  it('BoundedSemaphore.release(n) adds nothing when it would overflow', () => {
    const sem = new BoundedSemaphore(3);
    sem.tryAcquire();
    assert.throws(() => sem.release(2), {
      name: 'SemaphoreOverflowError',
      message: /release\(2\): the value would go from 2 to 4, above 3, the initial value/,
    });
    assert.equal(sem.value, 2);
    sem.release();
    assert.equal(sem.value, 3);
    assert.throws(() => sem.release(), SemaphoreOverflowError);
  });

  it('an acquire aborted while waiting rejects and takes no unit', async () => {
    const sem = new Semaphore(0);
    const ac = new AbortController();
    const pending = sem.acquire({ signal: ac.signal });
    const other = sem.acquire({ timeoutMs: 10_000 });
    await pauseMs(10);
    ac.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
    sem.release();
    assert.equal(await other, true, 'the unit went to the live waiter');
    assert.equal(sem.value, 0);
    await assert.rejects(sem.acquire({ signal: AbortSignal.abort(new Error('early')) }), /early/);
  });

  it('acquireSync on the main thread is refused whether or not a unit is free, except as a plain try (timeoutMs 0)', () => {
    const sem = new Semaphore(1);
    assert.throws(
      () => sem.acquireSync(),
      (err: Error) => err instanceof InvalidStateError && /await sem\.acquire\(\)/.test(err.message),
    );
    assert.equal(sem.value, 1, 'the refused call took nothing');
    assert.equal(sem.acquireSync({ timeoutMs: 0 }), true);
    assert.equal(sem.acquireSync({ timeoutMs: 0 }), false);
    assert.throws(() => sem.acquireSync(), InvalidStateError);
    sem.release();
  });

  it('withLock and hold release the unit', async () => {
    const sem = new Semaphore(1);
    assert.equal(await sem.withLock(() => sem.value), 0);
    {
      using _g = await sem.hold();
      assert.equal(sem.value, 0);
    }
    assert.equal(sem.value, 1);
  });
});
