// Queue semantics on one thread: order, bounds, time-outs, cancellation, close, iteration.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ClosedError, InvalidArgumentError, InvalidStateError, Lock, NotCloneableError, Queue, QueueEmptyError, QueueFullError } from 'threadkit';
import { rejectsAfter } from '../helpers/timing.ts';
import { within } from '../helpers/deadline.ts';

const T = { timeout: 10_000 };

describe('Queue on one thread', () => {
  it('items come out in the order they were put', T, async () => {
    const q = new Queue<number>();
    for (let i = 0; i < 100; i++) await q.put(i);
    for (let i = 100; i < 200; i++) q.putNowait(i);
    assert.equal(q.qsize(), 200);
    const got: number[] = [];
    for (let i = 0; i < 100; i++) got.push(await q.get());
    for (let i = 0; i < 100; i++) got.push(q.getNowait());
    assert.deepEqual(
      got,
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.equal(q.empty(), true);
  });

  it('random puts and gets of varied sizes match a plain array, wrapping around the ring end', T, () => {
    const q = new Queue<string>({ capacityBytes: 4096 });
    const model: string[] = [];
    let seed = 1;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    let full = 0;
    for (let step = 0, next = 0; step < 20_000; step++) {
      if (random() < 0.55) {
        const item = `${next}:` + 'x'.repeat(Math.floor(random() * 900));
        try {
          q.putNowait(item);
          model.push(item);
          next++;
        } catch (err) {
          assert.ok(err instanceof QueueFullError);
          full++;
        }
      } else if (model.length > 0) {
        assert.equal(q.getNowait(), model.shift());
      }
      assert.equal(q.qsize(), model.length);
    }
    assert.ok(full > 100, 'the ring was full many times');
  });

  it('a get waits for the next put', T, async () => {
    const q = new Queue<string>();
    const got = q.get({ timeoutMs: 5_000 });
    await sleep(10);
    await q.put('late');
    assert.equal(await got, 'late');
  });

  it('put waits while maxsize items are queued and goes in once one is taken', T, async () => {
    const q = new Queue<number>({ maxsize: 2 });
    await q.put(1);
    await q.put(2);
    assert.equal(q.full(), true);
    let done = false;
    const third = q.put(3, { timeoutMs: 5_000 }).then(() => (done = true));
    await sleep(20);
    assert.equal(done, false, 'the third put waits');
    assert.equal(q.qsize(), 2);
    assert.equal(await q.get(), 1);
    await within(5_000, third);
    assert.deepEqual([q.getNowait(), q.getNowait()], [2, 3]);
  });

  it('put with a timeout on a full queue rejects with QueueFullError and leaves the item out', T, async () => {
    const q = new Queue<number>({ maxsize: 1 });
    await q.put(1);
    await rejectsAfter(() => q.put(2, { timeoutMs: 20 }), QueueFullError, 20);
    await assert.rejects(q.put(2, { timeoutMs: 0 }), QueueFullError);
    assert.throws(() => q.putNowait(2), QueueFullError);
    assert.equal(q.qsize(), 1);
    assert.equal(q.getNowait(), 1);
  });

  it('get with a timeout on an empty queue rejects with QueueEmptyError', T, async () => {
    const q = new Queue();
    await rejectsAfter(() => q.get({ timeoutMs: 20 }), QueueEmptyError, 20);
    await assert.rejects(q.get({ timeoutMs: 0 }), QueueEmptyError);
    assert.throws(() => q.getNowait(), QueueEmptyError);
  });

  it('an unbounded queue still waits when its bytes are used up', T, async () => {
    const q = new Queue<string>({ capacityBytes: 1024 });
    const item = 'x'.repeat(200);
    let n = 0;
    for (;;) {
      try {
        q.putNowait(item);
        n++;
      } catch (err) {
        assert.ok(err instanceof QueueFullError);
        break;
      }
    }
    assert.equal(n, 4, 'four records of 208 bytes fit in 1024, five do not');
    assert.equal(q.full(), false, 'full() speaks of maxsize only, as in Python');
    const fifth = q.put(item, { timeoutMs: 5_000 });
    await sleep(10);
    assert.equal(q.qsize(), 4);
    await q.get();
    await within(5_000, fifth);
    assert.equal(q.qsize(), 4);
  });

  it('an item larger than the whole ring is refused with an error naming capacityBytes', T, async () => {
    const q = new Queue<Uint8Array>({ capacityBytes: 1024 });
    await assert.rejects(q.put(new Uint8Array(2000)), (err: Error) => err instanceof InvalidArgumentError && /capacityBytes/.test(err.message));
    assert.throws(() => q.putNowait(new Uint8Array(2000)), InvalidArgumentError);
    assert.equal(q.qsize(), 0);
  });

  it('a large item waits for free bytes and goes in once enough items were taken', T, async () => {
    const q = new Queue<string>({ capacityBytes: 4096 });
    const small = 's'.repeat(300);
    for (let i = 0; i < 10; i++) q.putNowait(small);
    const big = 'B'.repeat(3000);
    let bigIn = false;
    const bigPut = q.put(big, { timeoutMs: 5_000 }).then(() => (bigIn = true));
    const taken: string[] = [];
    while (!bigIn && taken.length < 10) {
      taken.push(await q.get());
      // Give the waiting put time to notice the freed bytes (a wake-up, not a speed test).
      await Promise.race([bigPut, sleep(250)]);
    }
    await within(5_000, bigPut);
    assert.equal(taken.length, 7, 'seven records of 308 bytes had to go before 3008 bytes were free');
    assert.deepEqual([q.getNowait(), q.getNowait(), q.getNowait()], [small, small, small]);
    assert.equal(q.getNowait(), big);
  });

  it('an abort before put rejects with the reason and queues nothing', T, async () => {
    const q = new Queue();
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(q.put(1, { signal: ac.signal }), /stop/);
    await assert.rejects(q.get({ signal: ac.signal }), /stop/);
    assert.equal(q.qsize(), 0);
  });

  it('an abort while put waits rejects with the reason and the item never arrives', T, async () => {
    const q = new Queue<number>({ maxsize: 1 });
    await q.put(1);
    const ac = new AbortController();
    const waiting = q.put(2, { signal: ac.signal });
    await sleep(10);
    ac.abort(new Error('changed my mind'));
    await assert.rejects(waiting, /changed my mind/);
    assert.equal(q.getNowait(), 1);
    assert.equal(q.qsize(), 0);
    await q.put(3);
    assert.equal(q.getNowait(), 3);
  });

  it('an abort while get waits rejects with the reason and takes nothing', T, async () => {
    const q = new Queue<number>();
    const ac = new AbortController();
    const waiting = q.get({ signal: ac.signal });
    await sleep(10);
    ac.abort(new Error('gone'));
    await assert.rejects(waiting, /gone/);
    await q.put(7);
    assert.equal(await q.get({ timeoutMs: 1_000 }), 7);
  });

  it('a put woken for an aborted getter still reaches a live getter', T, async () => {
    const q = new Queue<number>();
    const ac = new AbortController();
    const aborted = q.get({ signal: ac.signal });
    const live = q.get({ timeoutMs: 5_000 });
    await sleep(10);
    ac.abort(new Error('x'));
    await q.put(1);
    await assert.rejects(aborted, /x/);
    assert.equal(await live, 1);
  });

  it('close lets gets drain what is left, then throws ClosedError instead of waiting', T, async () => {
    const q = new Queue<number>();
    q.putNowait(1);
    q.putNowait(2);
    q.close();
    assert.equal(q.closed, true);
    assert.throws(() => q.putNowait(3), ClosedError);
    await assert.rejects(q.put(3), ClosedError);
    assert.equal(await q.get(), 1);
    assert.equal(q.getNowait(), 2);
    await assert.rejects(q.get(), ClosedError);
    assert.throws(() => q.getNowait(), ClosedError);
    q.close();
  });

  it('close wakes a waiting getter with ClosedError and a waiting putter with ClosedError', T, async () => {
    const empty = new Queue();
    const getter = empty.get();
    const full = new Queue({ maxsize: 1 });
    full.putNowait(0);
    const putter = full.put(1);
    await sleep(10);
    empty.close();
    full.close();
    // Both handled at once: the putter's rejection may come first.
    await within(5_000, Promise.all([assert.rejects(getter, ClosedError), assert.rejects(putter, ClosedError)]));
    assert.equal(full.qsize(), 1);
  });

  it('for await yields every item and ends when the queue is closed and drained', T, async () => {
    const q = new Queue<number>();
    const consumer = (async () => {
      const got: number[] = [];
      for await (const x of q) got.push(x);
      return got;
    })();
    for (let i = 0; i < 50; i++) await q.put(i);
    q.close();
    assert.deepEqual(
      await within(5_000, consumer),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('the blocking methods are refused on the main thread whether or not they would wait, except as a plain try (timeoutMs 0)', T, () => {
    const q = new Queue<number>({ maxsize: 1 });
    assert.throws(
      () => q.getSync(),
      (err: Error) => err instanceof InvalidStateError && /await queue\.get\(\)/.test(err.message),
    );
    assert.throws(() => q.getSync({ timeoutMs: 0 }), QueueEmptyError);
    assert.throws(
      () => q.putSync(1),
      (err: Error) => err instanceof InvalidStateError && /await queue\.put\(\)/.test(err.message),
      'refused although there is room',
    );
    assert.equal(q.qsize(), 0, 'the refused put queued nothing');
    q.putSync(1, { timeoutMs: 0 });
    assert.throws(() => q.putSync(2), InvalidStateError);
    assert.throws(() => q.putSync(2, { timeoutMs: 0 }), QueueFullError);
    assert.throws(() => q.getSync(), InvalidStateError, 'refused although an item is there');
    assert.equal(q.qsize(), 1, 'the refused get took nothing');
    assert.equal(q.getSync({ timeoutMs: 0 }), 1);
  });

  it('bad options are refused with InvalidArgumentError that echoes the value', T, async () => {
    assert.throws(() => new Queue({ maxsize: 1.5 }), /`maxsize`.*1\.5/);
    assert.throws(() => new Queue({ capacityBytes: 8 }), /`capacityBytes`.*`8`/);
    assert.throws(() => new Queue({ capacityBytes: '1k' as never }), InvalidArgumentError);
    await assert.rejects(new Queue().get({ timeoutMs: -5 }), InvalidArgumentError);
    assert.equal(new Queue({ maxsize: -1 }).maxsize, 0, 'maxsize <= 0 means no limit, as in Python');
    assert.equal(new Queue({ capacityBytes: 100 }).capacityBytes, 104);
  });

  it('items that cannot be cloned are refused with NotCloneableError and nothing is queued', T, async () => {
    const q = new Queue<unknown>();
    await assert.rejects(q.put({ f() {} }), NotCloneableError);
    assert.throws(() => q.putNowait(Symbol('s')), NotCloneableError);
    assert.throws(() => q.putNowait(new Queue()), /Thread in its `args`/);
    assert.throws(() => q.putNowait(new SharedArrayBuffer(8)), NotCloneableError);
    assert.throws(
      () => q.putNowait({ jobs: [1, { lock: new Lock() }] }),
      (err: Error) => err instanceof NotCloneableError && /item\.jobs\[1\]\.lock is a Lock/.test(err.message),
    );
    assert.throws(() => q.putNowait(new Map([['cells', new Int32Array(new SharedArrayBuffer(8))]])), NotCloneableError);
    assert.equal(q.qsize(), 0);
  });

  it('the error names the queue when it has a name', T, async () => {
    const q = new Queue({ name: 'jobs' });
    await assert.rejects(q.get({ timeoutMs: 0 }), /Queue "jobs"\.get\(\)/);
  });
});
