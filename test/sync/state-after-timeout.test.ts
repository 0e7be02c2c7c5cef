// Issue 9 (CPython's test_state_after_timeout, bpo-11618): a timed-out acquire must leave the
// lock whole. A wait long enough to turn starving took the starving count twice, so release()
// then handed the lock to waiters that did not exist and the lock stayed locked for good.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Lock, Process, RLock } from 'threadkit';
import { newTaskId, taskStorage } from '../../dist/internal/for-tests.js';
import { available as addonBuilt } from '../../dist/internal/for-tests.js';
import { within } from '../helpers/deadline.ts';
import { assertTimedOut } from '../helpers/timing.ts';
import { liveWorkers, MODES, runBunch } from '../helpers/workers.ts';
import { timedAcquire } from '../fixtures/wait-exits.ts';

const T = { timeout: 30_000 };
const inTask = <R>(fn: () => Promise<R>): Promise<R> => taskStorage.run(newTaskId(), fn);

afterEach(() => assert.equal(liveWorkers(), 0, 'every worker this test started has exited'));

for (const [kind, make] of [
  ['Lock', () => new Lock()],
  ['RLock', () => new RLock()],
] as const) {
  for (const mode of MODES) {
    describe(`${kind} state after a timed-out acquire (${mode})`, () => {
      for (const timeoutMs of [20, 200]) {
        it(`after a ${timeoutMs} ms timeout and a release, the lock is unlocked and can be acquired again`, T, async () => {
          const lock = make();
          await inTask(async () => {
            assert.equal(await lock.acquire(), true);
            const [[r, elapsed]] = (await runBunch(mode, 'acquireTimed', 1, { prim: lock, timeoutMs })) as [[boolean, number]];
            assert.equal(r, false);
            assertTimedOut(elapsed, timeoutMs);
            assert.equal(lock.locked(), true, 'still held by its owner');
            lock.release();
          });
          assert.equal(lock.locked(), false, 'nobody holds it after the release');
          assert.deepEqual(await runBunch(mode, 'acquireThenCheck', 1, { prim: lock, timeoutMs: 1000 }), [[true, false]]);
          assert.equal(await lock.acquire({ timeoutMs: 1000 }), true);
          assert.equal(lock.locked(), true);
          lock.release();
          assert.equal(lock.tryAcquire(), true);
          lock.release();
          assert.equal(lock.locked(), false);
        });
      }

      if (mode !== 'workers-sync') {
        for (const via of ['withLock', 'hold'] as const) {
          it(`${via} with a timeout that runs out rejects with TimeoutError and leaves the lock whole`, T, async () => {
            const lock = make();
            await inTask(async () => {
              await lock.acquire();
              const [[r, elapsed]] = (await runBunch(mode, 'acquireTimed', 1, { prim: lock, timeoutMs: 150, via })) as [[string, number]];
              assert.equal(r, 'TK_TIMEOUT');
              assertTimedOut(elapsed, 150);
              lock.release();
            });
            assert.equal(lock.locked(), false);
            assert.equal(await lock.withLock(() => lock.locked(), { timeoutMs: 1000 }), true);
            assert.equal(lock.locked(), false);
          });
        }
      }
    });
  }
}

describe('Lock state after a timed-out acquire in a Process', () => {
  // Process-shared memory explicitly, so the THREADKIT_MEMORY=thread run checks it too.
  const skip = addonBuilt ? false : 'needs the native addon for process-shared memory (Linux and a C compiler: node native/build.js)';
  it('after the process timed out and this side released, the lock is free for both', { ...T, skip }, async () => {
    const lock = new Lock({ memory: 'process' });
    await lock.acquire();
    const p = new Process({ target: timedAcquire, args: [lock, 200] });
    p.start();
    await within(20_000, p.join(), 'the process');
    assert.equal(p.exitCode, 0, String(p.error));
    const [r, elapsed] = p.result as [boolean, number];
    assert.equal(r, false);
    assertTimedOut(elapsed, 200);
    lock.release();
    assert.equal(lock.locked(), false);
    const q = new Process({ target: timedAcquire, args: [lock, 1000] });
    q.start();
    await within(20_000, q.join(), 'the second process');
    assert.deepEqual((q.result as [boolean, number])[0], true);
    assert.equal(lock.locked(), false);
    assert.equal(await lock.acquire({ timeoutMs: 1000 }), true);
    lock.release();
  });
});
