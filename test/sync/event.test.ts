import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Event, InvalidStateError } from 'threadkit';
import { counters, liveWorkers, MODES, pauseMs, runBunch, startBunch, stopBunch, waitUntil } from '../helpers/workers.ts';
import { assertCellsTimedOut } from '../helpers/timing.ts';

const T = { timeout: 30_000 };

afterEach(() => assert.equal(liveWorkers(), 0, 'every worker this test started has exited'));

for (const mode of MODES) {
  describe(`Event contract (${mode})`, () => {
    it('set() wakes every waiter', T, async () => {
      const event = new Event();
      const p = counters();
      const bunch = startBunch(mode, 'eventWait', 4, { event, p });
      try {
        await waitUntil(() => Atomics.load(p, 0) === 4);
        await pauseMs(20);
        assert.equal(Atomics.load(p, 1), 0);
        event.set();
        assert.deepEqual(await bunch.results, [true, true, true, true]);
      } finally {
        await stopBunch(bunch);
      }
    });

    it('a set event lets waits through at once until cleared', T, async () => {
      const event = new Event();
      event.set();
      assert.deepEqual(await runBunch(mode, 'eventWait', 2, { event, p: counters(), timeoutMs: 0 }), [true, true]);
      event.clear();
      const t = counters();
      assert.deepEqual(await runBunch(mode, 'eventWait', 2, { event, p: counters(), timeoutMs: 30, t }), [false, false]);
      assertCellsTimedOut(t, 2, 30);
    });

    it('a waiter woken by set() returns true even if clear() follows at once', T, async () => {
      const event = new Event();
      const p = counters();
      const bunch = startBunch(mode, 'eventWait', 2, { event, p });
      try {
        await waitUntil(() => Atomics.load(p, 0) === 2);
        // Each waiter counts itself just before it calls wait(); one that reaches wait() only
        // after the set() and clear() below rightly waits on (Python's semantics), so give both
        // time to park. 20 ms once fell short in a loaded CI run (the 'workers' mode of the
        // thread-memory pass): a worker was descheduled between its count and its wait.
        await pauseMs(150);
        event.set();
        event.clear();
        assert.deepEqual(await bunch.results, [true, true]);
      } finally {
        await stopBunch(bunch);
      }
    });
  });
}

describe('Event', () => {
  it('isSet follows set and clear', () => {
    const event = new Event();
    assert.equal(event.isSet(), false);
    event.set();
    event.set();
    assert.equal(event.isSet(), true);
    event.clear();
    assert.equal(event.isSet(), false);
  });

  it('a wait aborted before or during the wait rejects with the reason', async () => {
    const event = new Event();
    await assert.rejects(event.wait({ signal: AbortSignal.abort(new Error('early')) }), /early/);
    const ac = new AbortController();
    const pending = event.wait({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error('late')), 10);
    await assert.rejects(pending, /late/);
  });

  it('waitSync on the main thread is refused whether or not the flag is set, except as a plain read (timeoutMs 0)', () => {
    const event = new Event();
    assert.equal(event.waitSync({ timeoutMs: 0 }), false);
    assert.throws(() => event.waitSync({ timeoutMs: 10 }), InvalidStateError);
    event.set();
    assert.throws(
      () => event.waitSync(),
      (err: Error) => err instanceof InvalidStateError && /await event\.wait\(\)/.test(err.message),
    );
    assert.equal(event.waitSync({ timeoutMs: 0 }), true);
  });
});
