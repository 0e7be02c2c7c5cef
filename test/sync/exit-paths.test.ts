// Every way out of a wait leaves the primitive whole (issue 9): after success, a timeout (while
// parked, while starving, at the instant of a hand-off), an abort, the holder's death or an error
// in withLock/hold, the shared words are exactly what a sequential model says, and it still works.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Barrier, BoundedSemaphore, BrokenBarrierError, Condition, Event, Lock, LockOwnerDiedError, RLock, Semaphore, SemaphoreOverflowError } from 'threadkit';
import { newTaskId, taskStorage } from '../../dist/internal/for-tests.js';
import { conditionSlotsInUse, lockFlags, lockWords, semaphoreWords } from '../helpers/inspect.ts';
import { assertTimedOut, timed } from '../helpers/timing.ts';
import { counters, liveWorkers, startBunch, stopBunch, waitUntil } from '../helpers/workers.ts';

const T = { timeout: 30_000 };
const inTask = <R>(fn: () => Promise<R>): Promise<R> => taskStorage.run(newTaskId(), fn);

afterEach(() => assert.equal(liveWorkers(), 0, 'every worker this test started has exited'));

/** A free lock with nothing left over: no starving count, no hand-off, no waiter counted. */
function assertLockClean(lock: Lock | RLock): void {
  assert.deepEqual({ flags: lockFlags(lock), waiters: lockWords(lock).waiters }, { flags: 0, waiters: 0 });
}

describe('Lock: every way out of acquire leaves it whole', () => {
  for (const [where, timeoutMs] of [
    ['while spinning', 0.05],
    ['while parked', 30],
    ['while starving', 200],
  ] as const) {
    it(`a timeout ${where} resolves false after the timeout and leaves the lock as it was`, T, async () => {
      const lock = new Lock();
      await lock.acquire();
      const r = await timed(() => lock.acquire({ timeoutMs }));
      assert.deepEqual([r.ok, r.value], [true, false]);
      assertTimedOut(r.ms, timeoutMs);
      assert.deepEqual({ flags: lockFlags(lock), waiters: lockWords(lock).waiters }, { flags: 1, waiters: 0 }, 'still held, nothing else');
      lock.release();
      assertLockClean(lock);
      assert.equal(await lock.acquire({ timeoutMs: 0 }), true);
      lock.release();
    });
  }

  for (const [where, afterMs] of [
    ['while parked', 20],
    ['while starving', 200],
  ] as const) {
    it(`an abort ${where} rejects with the reason and leaves the lock as it was`, T, async () => {
      const lock = new Lock();
      await lock.acquire();
      const ac = new AbortController();
      const pending = lock.acquire({ signal: ac.signal, timeoutMs: 10_000 });
      await sleep(afterMs);
      ac.abort(new Error('stop'));
      await assert.rejects(pending, /stop/);
      assert.equal(lockFlags(lock), 1);
      lock.release();
      assertLockClean(lock);
      assert.equal(await lock.acquire({ timeoutMs: 1000 }), true);
      lock.release();
    });
  }

  it('a release at the instant a starving waiter times out either hands it the lock or leaves the lock free', T, async () => {
    const got = { handed: 0, timedOut: 0 };
    for (let round = 0; round < 12; round++) {
      const lock = new Lock();
      await lock.acquire();
      const timeoutMs = 150;
      const pending = lock.acquire({ timeoutMs });
      // Released within a millisecond or two of the deadline, on either side of it.
      await sleep(timeoutMs - 2 + (round % 5));
      lock.release();
      const r = await pending;
      if (r) {
        got.handed++;
        assert.equal(lockFlags(lock), 1, 'handed over: held by the waiter');
        lock.release();
      } else {
        got.timedOut++;
      }
      assertLockClean(lock);
      assert.equal(lock.tryAcquire(), true);
      lock.release();
    }
    assert.equal(got.handed + got.timedOut, 12);
  });

  it('starving waiters that time out, are aborted and are served, mixed, leave exact counts and a clean lock', T, async () => {
    const lock = new Lock();
    let inside = 0;
    let served = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        for (let k = 0; k < 15; k++) {
          const ac = new AbortController();
          if (k % 4 === i % 4) setTimeout(() => ac.abort(new Error('stop')), 1 + (k % 7));
          let ok = false;
          try {
            ok = await lock.acquire({ timeoutMs: 1 + ((i * 7 + k * 3) % 40), signal: ac.signal });
          } catch (err) {
            assert.match(String(err), /stop/);
          }
          if (!ok) {
            refused++;
            continue;
          }
          assert.equal(++inside, 1);
          await sleep(k % 3);
          inside--;
          served++;
          lock.release();
        }
      }),
    );
    assert.equal(served + refused, 90);
    assertLockClean(lock);
    assert.equal(await lock.acquire({ timeoutMs: 1000 }), true);
    lock.release();
  });

  it('an error thrown inside withLock or a hold() block releases the lock', T, async () => {
    const lock = new Lock();
    await assert.rejects(
      lock.withLock(
        () => {
          throw new Error('boom');
        },
        { timeoutMs: 1000 },
      ),
      /boom/,
    );
    assertLockClean(lock);
    await assert.rejects(
      (async () => {
        using _g = await lock.hold({ timeoutMs: 1000 });
        throw new Error('bang');
      })(),
      /bang/,
    );
    assertLockClean(lock);
  });

  it('starving waiters of a holder that dies get LockOwnerDiedError, and recover() leaves no starving count behind', T, async () => {
    const lock = new Lock();
    const p = counters();
    const holder = startBunch('workers', 'holdForever', 1, { prim: lock, p });
    try {
      await waitUntil(() => Atomics.load(p, 0) === 1);
      const waiters = [lock.acquire({ timeoutMs: 10_000 }), lock.acquire({ timeoutMs: 10_000 })];
      await sleep(250); // passed over on each poll: starving by now
      await stopBunch(holder);
      await Promise.all(waiters.map((w) => assert.rejects(w, LockOwnerDiedError)));
      assert.equal(lock.recover(), true);
      assertLockClean(lock);
      assert.equal(await lock.acquire({ timeoutMs: 1000 }), true);
      lock.release();
    } finally {
      await stopBunch(holder);
    }
  });
});

describe('RLock: every way out of acquire leaves it whole', () => {
  it('a timeout or abort of another task while the owner holds it deep leaves the owner and depth intact', T, async () => {
    const lock = new RLock();
    await inTask(async () => {
      await lock.acquire();
      await lock.acquire();
      const r = await inTask(() => timed(() => lock.acquire({ timeoutMs: 200 })));
      assert.deepEqual([r.ok, r.value], [true, false]);
      assertTimedOut(r.ms, 200);
      const ac = new AbortController();
      const aborted = inTask(() => lock.acquire({ signal: ac.signal }));
      await sleep(20);
      ac.abort(new Error('stop'));
      await assert.rejects(aborted, /stop/);
      assert.equal(lock.isOwned(), true);
      lock.release();
      assert.equal(lock.locked(), true, 'depth 1 left');
      lock.release();
    });
    assertLockClean(lock);
    assert.equal(await inTask(() => lock.acquire({ timeoutMs: 1000 })), true);
  });
});

describe('Semaphore and BoundedSemaphore: every way out of acquire leaves the value exact', () => {
  for (const make of [() => new Semaphore(0), () => new BoundedSemaphore(1)]) {
    it(`${make().constructor.name}: timeout, abort and a release at the deadline keep value and waiters exact`, T, async () => {
      const sem = make();
      if (sem instanceof BoundedSemaphore) assert.equal(sem.tryAcquire(), true);
      const r = await timed(() => sem.acquire({ timeoutMs: 40 }));
      assert.deepEqual([r.value, semaphoreWords(sem)], [false, { value: 0, waiters: 0 }]);
      assertTimedOut(r.ms, 40);
      const ac = new AbortController();
      const aborted = sem.acquire({ signal: ac.signal });
      await sleep(10);
      ac.abort(new Error('stop'));
      await assert.rejects(aborted, /stop/);
      assert.deepEqual(semaphoreWords(sem), { value: 0, waiters: 0 });
      for (let round = 0; round < 6; round++) {
        const pending = sem.acquire({ timeoutMs: 60 });
        await sleep(58 + (round % 4));
        sem.release();
        const got = await pending;
        assert.deepEqual(semaphoreWords(sem), { value: got ? 0 : 1, waiters: 0 });
        if (!got) assert.equal(sem.tryAcquire(), true);
      }
      sem.release();
      assert.equal(sem.value, 1);
      if (sem instanceof BoundedSemaphore) assert.throws(() => sem.release(), SemaphoreOverflowError);
      assert.equal(sem.value, 1);
      assert.equal(await sem.acquire({ timeoutMs: 0 }), true);
    });
  }
});

describe('Condition: every way out of wait holds the lock again and frees the waiter slot', () => {
  for (const kind of ['Lock', 'RLock'] as const) {
    it(`over a ${kind}: a timed-out wait returns false after the timeout, holding the lock, slot freed`, T, async () => {
      const cond = new Condition(kind === 'Lock' ? new Lock() : new RLock());
      await inTask(async () => {
        await cond.acquire();
        const r = await timed(() => cond.wait({ timeoutMs: 50 }));
        assert.deepEqual([r.ok, r.value], [true, false]);
        assertTimedOut(r.ms, 50);
        assert.equal(cond.lock.locked(), true);
        assert.equal(conditionSlotsInUse(cond), 0);
        cond.notify(); // nobody waits: no ghost takes it
        cond.release();
      });
      assertLockClean(cond.lock);
    });

    it(`over a ${kind}: a waiter aborted after it was notified passes the notify on`, T, async () => {
      const lock = kind === 'Lock' ? new Lock() : new RLock();
      const cond = new Condition(lock);
      const ac = new AbortController();
      const a = inTask(async () => {
        await cond.acquire();
        try {
          return await cond.wait({ signal: ac.signal, timeoutMs: 10_000 });
        } finally {
          cond.release();
        }
      });
      await waitUntil(() => conditionSlotsInUse(cond) === 1);
      const b = inTask(async () => {
        await cond.acquire();
        try {
          return await cond.wait({ timeoutMs: 10_000 });
        } finally {
          cond.release();
        }
      });
      await waitUntil(() => conditionSlotsInUse(cond) === 2);
      await inTask(async () => {
        await cond.acquire();
        cond.notify(1); // marks a
        ac.abort(new Error('stop'));
        await sleep(10);
        cond.release();
      });
      await assert.rejects(a, /stop/);
      assert.equal(await b, true, 'the notify went on to b');
      assert.equal(conditionSlotsInUse(cond), 0);
      assertLockClean(lock);
    });
  }

  it("a notify that lands at a waiter's deadline is neither lost nor doubled", T, async () => {
    for (let round = 0; round < 8; round++) {
      const cond = new Condition(new Lock());
      const waitOne = (timeoutMs: number) =>
        inTask(async () => {
          await cond.acquire();
          try {
            return await cond.wait({ timeoutMs });
          } finally {
            cond.release();
          }
        });
      const a = waitOne(60);
      await waitUntil(() => conditionSlotsInUse(cond) === 1);
      const b = waitOne(2_000);
      await waitUntil(() => conditionSlotsInUse(cond) === 2);
      await sleep(55 + (round % 6));
      await cond.withLock(() => cond.notify(1));
      const ra = await a;
      if (ra) {
        // a took the notify: b still waits, until told.
        assert.equal(conditionSlotsInUse(cond), 1);
        await cond.withLock(() => cond.notify(1));
      }
      assert.equal(await b, !ra || true);
      assert.equal(conditionSlotsInUse(cond), 0);
      assertLockClean(cond.lock);
    }
  });

  it("a wait whose lock's holder died rejects with LockOwnerDiedError and leaves no slot taken", T, async () => {
    const lock = new Lock();
    const cond = new Condition(lock);
    const p = counters();
    await cond.acquire();
    // Woken by an abort once the holder is dead (nobody can notify without the poisoned lock).
    const ac = new AbortController();
    const waiting = cond.wait({ timeoutMs: 20_000, signal: ac.signal });
    const holder = startBunch('workers', 'holdForever', 1, { prim: lock, p });
    try {
      await waitUntil(() => Atomics.load(p, 0) === 1);
      await stopBunch(holder);
      ac.abort(new Error('wake up'));
      await assert.rejects(waiting, LockOwnerDiedError);
      assert.equal(conditionSlotsInUse(cond), 0);
      assert.equal(lock.recover(), true);
      await cond.acquire();
      assert.equal(await cond.wait({ timeoutMs: 10 }), false);
      cond.release();
      assertLockClean(lock);
    } finally {
      await stopBunch(holder);
    }
  });
});

describe('Event: every way out of wait leaves the flag as it was', () => {
  it('timeout and abort change nothing; a set() then a clear() before the waiter ran still wakes it', T, async () => {
    const event = new Event();
    const r = await timed(() => event.wait({ timeoutMs: 40 }));
    assert.deepEqual([r.value, event.isSet()], [false, false]);
    assertTimedOut(r.ms, 40);
    const ac = new AbortController();
    const aborted = event.wait({ signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    assert.equal(event.isSet(), false);
    const woken = event.wait({ timeoutMs: 5_000 });
    await sleep(5);
    event.set();
    event.clear();
    assert.equal(await woken, true);
    assert.equal(event.isSet(), false);
    event.set();
    assert.equal(await event.wait({ timeoutMs: 0 }), true);
  });
});

describe('Barrier: timeout, abort, reset and a failing action leave it reusable', () => {
  it('a timeout breaks it after the timeout, leaves nobody counted, and reset() makes it pass again', T, async () => {
    const barrier = new Barrier(3);
    const other = assert.rejects(barrier.wait({ timeoutMs: 10_000 }), BrokenBarrierError);
    const r = await timed(() => barrier.wait({ timeoutMs: 60 }));
    assert.ok(r.value instanceof BrokenBarrierError);
    assertTimedOut(r.ms, 60);
    await other;
    assert.deepEqual([barrier.broken, barrier.nWaiting], [true, 0]);
    await barrier.reset();
    assert.deepEqual([barrier.broken, barrier.nWaiting], [false, 0]);
    assert.deepEqual((await Promise.all([0, 1, 2].map(() => barrier.wait({ timeoutMs: 5_000 })))).sort(), [0, 1, 2]);
  });

  it('reset() while parties wait fails them, without leaving the barrier broken', T, async () => {
    const barrier = new Barrier(3);
    const waiting = [barrier.wait({ timeoutMs: 10_000 }), barrier.wait({ timeoutMs: 10_000 })];
    await waitUntil(() => barrier.nWaiting === 2);
    await barrier.reset();
    await Promise.all(waiting.map((w) => assert.rejects(w, BrokenBarrierError)));
    assert.deepEqual([barrier.broken, barrier.nWaiting], [false, 0]);
    assert.deepEqual((await Promise.all([0, 1, 2].map(() => barrier.wait({ timeoutMs: 5_000 })))).sort(), [0, 1, 2]);
  });

  it('abort() and a throwing action break it; reset() makes it whole', T, async () => {
    let fail = true;
    const barrier = new Barrier(2, {
      action: () => {
        if (fail) throw new Error('action failed');
      },
    });
    const w = assert.rejects(barrier.wait({ timeoutMs: 10_000 }), BrokenBarrierError);
    await waitUntil(() => barrier.nWaiting === 1);
    await assert.rejects(barrier.wait({ timeoutMs: 10_000 }), /action failed/);
    await w;
    assert.equal(barrier.broken, true);
    await barrier.reset();
    fail = false;
    const x = assert.rejects(barrier.wait({ timeoutMs: 10_000 }), BrokenBarrierError);
    await waitUntil(() => barrier.nWaiting === 1);
    await barrier.abort();
    await x;
    await barrier.reset();
    assert.deepEqual((await Promise.all([barrier.wait({ timeoutMs: 5_000 }), barrier.wait({ timeoutMs: 5_000 })])).sort(), [0, 1]);
    assert.deepEqual([barrier.broken, barrier.nWaiting], [false, 0]);
  });
});
