import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Condition, InvalidStateError, Lock, LockNotOwnedError, RLock } from 'threadkit';
import { newTaskId, taskStorage } from '../../dist/internal/for-tests.js';
import { counters, liveWorkers, MODES, pauseMs, runBunch, startBunch, stopBunch, waitUntil } from '../helpers/workers.ts';
import { assertCellsTimedOut, resolvesAfter } from '../helpers/timing.ts';

const T = { timeout: 30_000 };
const inTask = <R>(fn: () => Promise<R>): Promise<R> => taskStorage.run(newTaskId(), fn);

afterEach(() => assert.equal(liveWorkers(), 0, 'every worker this test started has exited'));

/** Holding the lock after all `n` waiters counted themselves means all of them are in wait(). */
async function allWaiting(_cond: Condition, p: Int32Array, n: number): Promise<void> {
  await waitUntil(() => Atomics.load(p, 0) === n, 10_000, `${n} waiters`);
}

for (const mode of MODES) {
  for (const kind of ['RLock', 'Lock'] as const) {
    describe(`Condition over ${kind} contract (${mode})`, () => {
      const make = () => new Condition(kind === 'Lock' ? new Lock() : new RLock());

      it('notify(n) wakes exactly n waiters, oldest first, and notifyAll the rest', T, async () => {
        const cond = make();
        const p = counters();
        const bunch = startBunch(mode, 'condWait', 5, { cond, p });
        try {
          await allWaiting(cond, p, 5);
          await inTask(async () => {
            await cond.acquire();
            assert.equal(Atomics.load(p, 1), 0);
            cond.notify(2);
            cond.release();
          });
          await waitUntil(() => Atomics.load(p, 1) === 2);
          await pauseMs(30);
          assert.equal(Atomics.load(p, 1), 2, 'no third waiter woke');
          await inTask(async () => {
            await cond.acquire();
            cond.notify(1);
            cond.release();
          });
          await waitUntil(() => Atomics.load(p, 1) === 3);
          await pauseMs(30);
          assert.equal(Atomics.load(p, 1), 3);
          await inTask(async () => {
            await cond.acquire();
            cond.notifyAll();
            cond.release();
          });
          assert.deepEqual(await bunch.results, [true, true, true, true, true]);
        } finally {
          await stopBunch(bunch);
        }
      });

      it('a wait that times out resolves false, holding the lock again', T, async () => {
        const cond = make();
        const t = counters();
        assert.deepEqual(await runBunch(mode, 'condWait', 2, { cond, p: counters(), timeoutMs: 30, t }), [false, false]);
        assertCellsTimedOut(t, 2, 30);
        assert.equal(cond.lock.locked(), false);
      });

      it('waitFor returns once the predicate holds', T, async () => {
        const cond = make();
        const p = counters();
        const bunch = startBunch(mode, 'condWaitFor', 3, { cond, p, target: 2 });
        try {
          await allWaiting(cond, p, 3);
          for (let i = 0; i < 2; i++) {
            await inTask(async () => {
              await cond.acquire();
              Atomics.add(p, 3, 1);
              cond.notifyAll();
              cond.release();
            });
          }
          assert.deepEqual(await bunch.results, [true, true, true]);
        } finally {
          await stopBunch(bunch);
        }
        const t = counters();
        assert.deepEqual(await runBunch(mode, 'condWaitFor', 1, { cond, p, target: 99, timeoutMs: 20, t }), [false]);
        assertCellsTimedOut(t, 1, 20);
      });

      it('4 threads taking turns by wait and notifyAll end with the exact count', T, async () => {
        const cond = make();
        const cell = counters(1);
        const rounds = mode === 'tasks' ? 200 : 250;
        await runBunch(mode, 'condTurns', 4, { cond, cell, n: 4, rounds });
        assert.equal(cell[0], 4 * rounds);
      });

      it('4 threads x many increments of a plain cell under the condition add up exactly', T, async () => {
        const cond = make();
        const cell = counters(1);
        // The default (RLock) condition gets the full count; over a Lock it repeats lock.test.ts.
        const iterations = mode === 'tasks' ? 2_000 : kind === 'RLock' ? 20_000 : 5_000;
        await runBunch(mode, 'increment', 4, { prim: cond, cell, iterations, yieldEvery: mode === 'tasks' ? 3 : 0 });
        assert.equal(cell[0], 4 * iterations);
      });
    });
  }
}

describe('Condition', () => {
  it('wait, notify and notifyAll without the lock throw LockNotOwnedError', async () => {
    const cond = new Condition();
    await assert.rejects(cond.wait({ timeoutMs: 10 }), LockNotOwnedError);
    assert.throws(() => cond.notify(), LockNotOwnedError);
    assert.throws(() => cond.notifyAll(), LockNotOwnedError);
    await inTask(async () => {
      await cond.acquire();
      await inTask(async () => assert.throws(() => cond.notify(), LockNotOwnedError));
      cond.release();
    });
  });

  it('wait restores the RLock recursion depth', async () => {
    const cond = new Condition(new RLock());
    await inTask(async () => {
      await cond.acquire();
      await cond.acquire();
      await resolvesAfter(() => cond.wait({ timeoutMs: 10 }), false, 10);
      cond.release();
      assert.equal(cond.lock.locked(), true);
      cond.release();
    });
    assert.equal(cond.lock.locked(), false);
  });

  it('a wait aborted while waiting rejects with the reason holding the lock, and passes a notify on', async () => {
    const cond = new Condition(new Lock());
    const results: string[] = [];
    const ac = new AbortController();
    let waiting = 0; // counted under the lock just before wait(), which releases it
    const first = (async () => {
      await cond.acquire();
      try {
        waiting++;
        await cond.wait({ signal: ac.signal, timeoutMs: 10_000 });
        results.push('first notified');
      } catch (err) {
        assert.equal(cond.lock.locked(), true);
        results.push((err as Error).message);
      } finally {
        cond.release();
      }
    })();
    const second = (async () => {
      await cond.acquire();
      try {
        waiting++;
        results.push((await cond.wait({ timeoutMs: 10_000 })) ? 'second notified' : 'second timed out');
      } finally {
        cond.release();
      }
    })();
    // Holding the lock with both counted means both are inside wait() (a fixed pause was not
    // enough on a loaded machine: the notify then found only the first waiter and was lost).
    const deadline = performance.now() + 10_000;
    for (;;) {
      await cond.acquire();
      if (waiting === 2) break;
      cond.release();
      assert.ok(performance.now() < deadline, 'the two waiters did not reach wait() within 10 s');
      await pauseMs(2);
    }
    cond.notify(1); // meant for the first waiter, which is aborted before it runs
    ac.abort(new Error('stop'));
    cond.release();
    await Promise.all([first, second]);
    assert.deepEqual(results.sort(), ['second notified', 'stop']);
  });

  it('an already aborted signal rejects at once, lock still held', async () => {
    const cond = new Condition(new Lock());
    await cond.acquire();
    await assert.rejects(cond.wait({ signal: AbortSignal.abort(new Error('early')) }), /early/);
    assert.equal(cond.lock.locked(), true);
    cond.release();
  });

  it('more waiters than the capacity throw InvalidStateError', async () => {
    const cond = new Condition(new Lock(), { capacity: 2 });
    const waits: Promise<boolean>[] = [];
    for (let i = 0; i < 2; i++) {
      await cond.acquire();
      waits.push(cond.wait({ timeoutMs: 10_000 }).finally(() => cond.release()));
    }
    await cond.acquire();
    await assert.rejects(cond.wait({ timeoutMs: 10 }), InvalidStateError);
    cond.notifyAll();
    cond.release();
    assert.deepEqual(await Promise.all(waits), [true, true]);
    // The slots are free again.
    await cond.acquire();
    await resolvesAfter(() => cond.wait({ timeoutMs: 5 }), false, 5);
    cond.release();
  });

  it('waitSync on the main thread throws InvalidStateError', async () => {
    const cond = new Condition(new Lock());
    await cond.acquire();
    assert.throws(() => cond.waitSync({ timeoutMs: 10 }), InvalidStateError);
    cond.release();
  });
});
