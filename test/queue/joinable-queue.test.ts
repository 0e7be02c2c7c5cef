// JoinableQueue: taskDone counts items done, join waits for all of them, in any thread.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { InvalidStateError, JoinableQueue, Queue, TimeoutError } from 'threadkit';
import { rejectsAfter } from '../helpers/timing.ts';
import { doubleEach } from '../fixtures/queue-targets.ts';
import { within } from '../helpers/deadline.ts';
import { assertNoThreadLeft, BACKENDS, start } from './backends.ts';

const T = { timeout: 30_000 };

after(assertNoThreadLeft);

describe('JoinableQueue on one thread', () => {
  it('join resolves at once when nothing was put', T, async () => {
    await within(1_000, new JoinableQueue().join());
  });

  it('join waits until taskDone was called once for every item put', T, async () => {
    const q = new JoinableQueue<number>();
    q.putNowait(1);
    q.putNowait(2);
    let joined = false;
    const joining = q.join().then(() => (joined = true));
    q.getNowait();
    q.getNowait();
    assert.equal(q.unfinishedTasks, 2, 'taking items does not finish them');
    q.taskDone();
    await sleep(10);
    assert.equal(joined, false);
    q.taskDone();
    await within(5_000, joining);
    assert.equal(q.unfinishedTasks, 0);
  });

  it('taskDone called more times than items were put throws InvalidStateError', T, () => {
    const q = new JoinableQueue();
    q.putNowait('x');
    q.getNowait();
    q.taskDone();
    assert.throws(() => q.taskDone(), InvalidStateError);
    assert.equal(q.unfinishedTasks, 0);
  });

  it('join with a timeout rejects with TimeoutError while items are unfinished', T, async () => {
    const q = new JoinableQueue();
    q.putNowait('x');
    await rejectsAfter(() => q.join({ timeoutMs: 20 }), TimeoutError, 20);
    assert.throws(() => q.joinSync({ timeoutMs: 0 }), TimeoutError);
    assert.throws(() => q.joinSync(), InvalidStateError, 'the main thread may not block');
  });

  it('join aborted while it waits rejects with the reason', T, async () => {
    const q = new JoinableQueue();
    q.putNowait('x');
    const ac = new AbortController();
    const joining = q.join({ signal: ac.signal });
    ac.abort(new Error('enough'));
    await assert.rejects(joining, /enough/);
  });
});

for (const backend of BACKENDS) {
  describe(`JoinableQueue contract (${backend})`, () => {
    it('join returns once two workers marked every one of 1000 items done', T, async () => {
      const q = new JoinableQueue<number>();
      const out = new Queue<number>();
      const workers = start(backend, [
        [doubleEach, [q, out]],
        [doubleEach, [q, out]],
      ]);
      for (let i = 0; i < 1_000; i++) await q.put(i);
      await within(20_000, q.join());
      assert.equal(q.unfinishedTasks, 0);
      assert.equal(out.qsize(), 1_000, 'every item was processed before join returned');
      q.close();
      const counts = (await within(20_000, workers.results)) as number[];
      assert.equal(counts[0]! + counts[1]!, 1_000);
      let sum = 0;
      while (!out.empty()) sum += out.getNowait();
      assert.equal(sum, 999 * 1_000);
    });
  });
}
