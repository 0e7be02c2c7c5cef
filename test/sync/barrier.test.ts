import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Barrier, BrokenBarrierError, InvalidArgumentError, NotSupportedError } from 'threadkit';
import { kShare } from '../../dist/internal/for-tests.js';
import { counters, liveWorkers, MODES, runBunch, startBunch, stopBunch, waitUntil } from '../helpers/workers.ts';
import { assertTimedOut, rejectsAfter } from '../helpers/timing.ts';

const T = { timeout: 30_000 };

afterEach(() => assert.equal(liveWorkers(), 0, 'every worker this test started has exited'));

for (const mode of MODES) {
  describe(`Barrier contract (${mode})`, () => {
    it('each generation releases all parties with distinct indices 0..parties-1', T, async () => {
      const barrier = new Barrier(4);
      const rounds = 5;
      const results = (await runBunch(mode, 'barrierWait', 4, { barrier, rounds })) as number[][];
      for (let r = 0; r < rounds; r++) {
        assert.deepEqual(results.map((got) => got[r]).sort(), [0, 1, 2, 3], `generation ${r}`);
      }
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    });

    it('a wait that times out breaks the barrier for every waiter', T, async () => {
      const barrier = new Barrier(4);
      const t = counters();
      const codes = await runBunch(mode, 'barrierCode', 3, { barrier, p: counters(), timeoutMs: 50, t });
      assert.deepEqual(codes, ['TK_BARRIER_BROKEN', 'TK_BARRIER_BROKEN', 'TK_BARRIER_BROKEN']);
      // The first to time out breaks it for the others: at least one waited the whole timeout.
      assertTimedOut(Math.max(...[0, 1, 2].map((i) => Atomics.load(t, i))) / 1000, 50);
      assert.equal(barrier.broken, true);
      await assert.rejects(barrier.wait({ timeoutMs: 1000 }), BrokenBarrierError);
    });

    it('abort() breaks the barrier for its waiters', T, async () => {
      const barrier = new Barrier(3);
      const p = counters();
      const bunch = startBunch(mode, 'barrierCode', 2, { barrier, p });
      try {
        await waitUntil(() => barrier.nWaiting === 2);
        await barrier.abort();
        assert.deepEqual(await bunch.results, ['TK_BARRIER_BROKEN', 'TK_BARRIER_BROKEN']);
        assert.equal(barrier.broken, true);
      } finally {
        await stopBunch(bunch);
      }
    });

    it('reset() while parties wait breaks their waits, and the barrier works again', T, async () => {
      const barrier = new Barrier(3);
      const p = counters();
      const bunch = startBunch(mode, 'barrierCode', 2, { barrier, p });
      try {
        await waitUntil(() => barrier.nWaiting === 2);
        await barrier.reset();
        assert.deepEqual(await bunch.results, ['TK_BARRIER_BROKEN', 'TK_BARRIER_BROKEN']);
      } finally {
        await stopBunch(bunch);
      }
      assert.equal(barrier.broken, false);
      const again = startBunch(mode, 'barrierCode', 2, { barrier, p });
      try {
        const mine = await barrier.wait({ timeoutMs: 10_000 });
        assert.ok(mine >= 0 && mine < 3);
        assert.deepEqual(await again.results, ['passed', 'passed']);
      } finally {
        await stopBunch(again);
      }
    });
  });
}

describe('Barrier', () => {
  it('action runs once per generation, in the last party, before anyone is released', async () => {
    const seen: number[] = [];
    let generation = 0;
    const barrier = new Barrier(3, { action: () => void generation++ });
    await Promise.all(
      [0, 1, 2].map(async () => {
        for (let r = 0; r < 3; r++) {
          await barrier.wait({ timeoutMs: 10_000 });
          seen.push(generation);
        }
      }),
    );
    assert.equal(generation, 3);
    assert.deepEqual(seen.slice(0, 3), [1, 1, 1]);
  });

  it('an action that throws breaks the barrier, and that party rethrows', async () => {
    const barrier = new Barrier(2, {
      action: () => {
        throw new Error('action failed');
      },
    });
    const results = await Promise.allSettled([barrier.wait({ timeoutMs: 10_000 }), barrier.wait({ timeoutMs: 10_000 })]);
    const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'passed')).sort();
    assert.equal(reasons.filter((m) => /action failed/.test(m)).length, 1);
    assert.equal(reasons.filter((m) => /is broken/.test(m)).length, 1);
    assert.equal(barrier.broken, true);
  });

  it('a barrier with an action cannot cross threads', () => {
    const barrier = new Barrier(2, { action: () => {} });
    assert.throws(() => barrier[kShare](), NotSupportedError);
  });

  it('an aborted wait breaks the barrier and rejects with the reason', async () => {
    const barrier = new Barrier(3);
    const ac = new AbortController();
    const first = barrier.wait({ signal: ac.signal });
    const second = barrier.wait({ timeoutMs: 10_000 });
    await waitUntil(() => barrier.nWaiting === 2);
    ac.abort(new Error('stop'));
    await assert.rejects(first, /stop/);
    await assert.rejects(second, BrokenBarrierError);
    assert.equal(barrier.broken, true);
  });

  it('the default timeout applies to every wait', async () => {
    const barrier = new Barrier(2, { timeoutMs: 20 });
    await rejectsAfter(() => barrier.wait(), BrokenBarrierError, 20);
  });

  it('parties must be a positive integer', () => {
    assert.throws(() => new Barrier(0), InvalidArgumentError);
    assert.equal(new Barrier(3).parties, 3);
  });
});
