// A waiter that dies inside Condition.wait (a killed Process, a terminated Thread) must not take
// a notify with it: notify(1) goes to the next live waiter, as multiprocessing.Condition does,
// and the dead waiter's slot is reused. It used to be spent on the dead waiter's slot.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Condition, Process, Thread, Value } from 'threadkit';
import { within } from '../helpers/deadline.ts';
import { liveWorkers, waitUntil } from '../helpers/workers.ts';
import { waitAsync, waitBlocking } from '../fixtures/cond-waiters.ts';

const T = { timeout: 60_000 };

/**
 * Resolves once `n` waiters have counted themselves in `waiting` and are queued: each counts
 * itself holding the condition's lock, and lets it go only as it starts waiting.
 */
async function queued(c: Condition, waiting: Value<'i'>, n: number): Promise<void> {
  await waitUntil(() => waiting.value >= n, 10_000, `${n} waiters`);
  await c.acquire({ timeoutMs: 10_000 });
  c.release();
}

describe('Condition whose waiter died', () => {
  for (const [kind, make, stop] of [
    ['a killed Process', (c: Condition, v: Value<'i'>) => new Process({ target: waitAsync, args: [c, v] }), (w: Process | Thread) => w.kill()],
    ['a terminated Thread', (c: Condition, v: Value<'i'>) => new Thread({ target: waitBlocking, args: [c, v] }), (w: Process | Thread) => w.terminate()],
  ] as const) {
    it(`${kind}: notify(1) wakes the live waiter queued behind it, and the Condition goes on`, T, async () => {
      // Process-shared memory explicitly, so that the THREADKIT_MEMORY=thread run checks it too.
      const c = new Condition(undefined, { capacity: 2, memory: 'process' });
      const waiting = new Value('i', 0, { memory: 'process' });
      const first = make(c, waiting);
      first.start();
      await queued(c, waiting, 1);
      const second = make(c, waiting);
      second.start();
      await queued(c, waiting, 2);
      stop(first);
      await within(10_000, first.join(), 'the dead waiter');
      await c.acquire();
      c.notify(1);
      c.release();
      await within(10_000, second.join(), 'the live waiter, woken by notify(1)');
      assert.deepEqual([second.exitCode, second.result], [0, 'woken']);
      // Both slots are free again: two waiters fit in this capacity-2 Condition.
      const again = [make(c, waiting), make(c, waiting)];
      for (const w of again) w.start();
      await queued(c, waiting, 4);
      await c.acquire();
      c.notifyAll();
      c.release();
      await within(10_000, Promise.all(again.map((w) => w.join())), 'two new waiters');
      assert.deepEqual(
        again.map((w) => w.result),
        ['woken', 'woken'],
      );
    });
  }
  it('leaves no worker running', () => assert.equal(liveWorkers(), 0));
});
