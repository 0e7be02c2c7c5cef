// A party that dies inside Barrier.wait (a killed Process, a terminated Thread) must not be
// counted as arrived: the generation cannot complete without it, so it breaks, every wait
// (timed or not) ends, and reset() makes the barrier whole again. It used to let the next
// wait pass with the dead party counted, then no wait ever ended, whatever its timeout.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Barrier, BrokenBarrierError, Process, Thread } from 'threadkit';
import { within } from '../helpers/deadline.ts';
import { assertTimedOut } from '../helpers/timing.ts';
import { liveWorkers, waitUntil } from '../helpers/workers.ts';
import { partyAsync, partyBlocking } from '../fixtures/barrier-parties.ts';

const T = { timeout: 60_000 };

describe('Barrier whose party died', () => {
  for (const [kind, make, stop] of [
    ['a killed Process', (b: Barrier) => new Process({ target: partyAsync, args: [b] }), (w: Process | Thread) => w.kill()],
    ['a terminated Thread', (b: Barrier) => new Thread({ target: partyBlocking, args: [b] }), (w: Process | Thread) => w.terminate()],
  ] as const) {
    it(`${kind}: the next wait breaks instead of passing, later timed waits end on time, and reset() makes it whole`, T, async () => {
      // Process-shared memory explicitly, so that the THREADKIT_MEMORY=thread run checks it too.
      const b = new Barrier(2, { memory: 'process' });
      const dying = make(b);
      dying.start();
      await waitUntil(() => b.nWaiting === 1, 10_000, 'the party to wait');
      stop(dying);
      await within(10_000, dying.join(), 'the dead party');
      assert.equal(b.nWaiting, 0, 'a dead party is not counted as waiting');

      await assert.rejects(within(10_000, b.wait({ timeoutMs: 5_000 }), 'the wait after the death'), BrokenBarrierError);
      assert.equal(b.broken, true);
      const start = performance.now();
      await assert.rejects(within(10_000, b.wait({ timeoutMs: 200 }), 'a wait on the broken barrier'), BrokenBarrierError);
      assert.ok(performance.now() - start < 5_000, 'a wait on a broken barrier ends at once');

      await within(10_000, b.reset(), 'reset()');
      assert.deepEqual([b.broken, b.nWaiting], [false, 0]);
      // Whole again: a full generation passes, with a live party in another worker.
      const live = make(b);
      live.start();
      const mine = await within(20_000, b.wait({ timeoutMs: 15_000 }), 'a full generation after reset()');
      await within(10_000, live.join(), 'the live party');
      assert.deepEqual([mine, live.result].sort(), [0, 1]);
      // And a lone timed wait times out on time, breaking it (Python's rule).
      await within(10_000, b.reset(), 'reset()');
      const t0 = performance.now();
      await assert.rejects(within(10_000, b.wait({ timeoutMs: 150 }), 'a lone timed wait'), BrokenBarrierError);
      assertTimedOut(performance.now() - t0, 150);
    });
  }
  it('leaves no worker running', () => assert.equal(liveWorkers(), 0));
});
