// wait() and asCompleted() (Python's concurrent.futures.wait / as_completed).
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asCompleted, Event, ThreadPoolExecutor, TimeoutError, wait } from 'threadkit';
import { released } from '../fixtures/batching-targets.ts';
import { failLater, sleepThen } from '../fixtures/pool-targets.ts';
import { rejection, within } from './helpers.ts';

describe('wait and asCompleted', () => {
  it('yields futures in the order they complete with asCompleted', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 3 });
    // Each task ends when its gate is set: the test sets them in turn, each once the one before came out.
    const gates = { slow: new Event(), mid: new Event(), fast: new Event() };
    const slow = ex.submit(released, gates.slow, 'slow');
    const mid = ex.submit(released, gates.mid, 'mid');
    const fast = ex.submit(released, gates.fast, 'fast');
    const next: Record<string, Event | undefined> = { fast: gates.mid, mid: gates.slow };
    gates.fast.set();
    const order: string[] = [];
    await within(
      20_000,
      (async () => {
        for await (const f of asCompleted([slow, mid, fast, fast])) {
          const value = (await f.result()) as string;
          order.push(value);
          next[value]?.set();
        }
      })(),
      'asCompleted',
    );
    assert.deepEqual(order, ['fast', 'mid', 'slow']);
  });

  it('throws a TimeoutError from asCompleted when not all are done in time', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 2, minWorkers: 2 });
    // Warm workers first: the time-out below is about the slow task, not about a worker's boot.
    await Promise.all([ex.submit(sleepThen, 1, 'warm').result(), ex.submit(sleepThen, 1, 'warm').result()]);
    const fast = ex.submit(sleepThen, 1, 'fast');
    const slow = ex.submit(sleepThen, 10_000, 'slow');
    const got: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const f of asCompleted([fast, slow], 1_500)) got.push((await f.result()) as string);
      })(),
    );
    assert.ok(err instanceof TimeoutError);
    assert.deepEqual(got, ['fast']);
    slow.abort();
  });

  it('returns at the first completion with FIRST_COMPLETED, and after the time-out with what is done', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 2 });
    const fast = ex.submit(sleepThen, 1, 'fast');
    const slow = ex.submit(sleepThen, 2_000, 'slow');
    const first = await within(10_000, wait([fast, slow], { returnWhen: 'FIRST_COMPLETED' }));
    assert.deepEqual([...first.done], [fast]);
    assert.deepEqual([...first.notDone], [slow]);
    const timed = await within(10_000, wait([fast, slow], { timeoutMs: 50 }));
    assert.deepEqual([[...timed.done], [...timed.notDone]], [[fast], [slow]]);
    slow.abort();
  });

  it('returns at the first error with FIRST_EXCEPTION, and when all are done with ALL_COMPLETED', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 3 });
    const ok = ex.submit(sleepThen, 1, 'ok');
    const bad = ex.submit(failLater, 'bad');
    const slow = ex.submit(sleepThen, 2_000, 'slow');
    const r = await within(10_000, wait([ok, bad, slow], { returnWhen: 'FIRST_EXCEPTION' }));
    assert.ok(r.done.has(bad) && r.notDone.has(slow));
    slow.abort();
    const all = await within(10_000, wait([ok, bad, slow]));
    assert.equal(all.done.size, 3);
    assert.equal(all.notDone.size, 0);
    const empty = await wait([]);
    assert.equal(empty.done.size + empty.notDone.size, 0);
  });
});
