// Every way out of a queue or pipe wait leaves it whole (issue 9): after a timeout, an abort or a
// close() while waiters wait, no item is lost or doubled, no waiter is still counted, and the
// queue keeps working.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClosedError, JoinableQueue, Pipe, Queue, QueueEmptyError, QueueFullError, TimeoutError } from 'threadkit';
import { within } from '../helpers/deadline.ts';
import { queueWords } from '../helpers/inspect.ts';
import { assertTimedOut, timed } from '../helpers/timing.ts';

const T = { timeout: 30_000 };

function assertIdle(q: Queue<unknown>, count: number): void {
  assert.deepEqual(queueWords(q), { count, getters: 0, putters: 0, pollers: 0, unfinished: queueWords(q).unfinished, mutexFree: true });
}

describe('Queue: every way out of get/put leaves it whole', () => {
  it('a get that times out rejects with QueueEmptyError after the timeout; the queue still works', T, async () => {
    const q = new Queue<number>();
    const r = await timed(() => q.get({ timeoutMs: 40 }));
    assert.ok(r.value instanceof QueueEmptyError);
    assertTimedOut(r.ms, 40);
    assertIdle(q, 0);
    await q.put(1);
    assert.equal(await q.get({ timeoutMs: 1000 }), 1);
    assertIdle(q, 0);
  });

  it('a put that times out on a full queue rejects with QueueFullError and queues nothing', T, async () => {
    const q = new Queue<number>({ maxsize: 1 });
    await q.put(1);
    const r = await timed(() => q.put(2, { timeoutMs: 40 }));
    assert.ok(r.value instanceof QueueFullError);
    assertTimedOut(r.ms, 40);
    assertIdle(q, 1);
    assert.equal(q.getNowait(), 1);
    assert.throws(() => q.getNowait(), QueueEmptyError, 'the timed-out item is not there');
    await q.put(3, { timeoutMs: 1000 });
    assert.equal(await q.get(), 3);
  });

  it('an aborted getter takes no item: the next item goes to the getter still waiting', T, async () => {
    const q = new Queue<string>();
    const ac = new AbortController();
    const aborted = q.get({ signal: ac.signal });
    const live = q.get({ timeoutMs: 5_000 });
    await sleep(10);
    ac.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    await q.put('x');
    assert.equal(await live, 'x');
    assertIdle(q, 0);
  });

  it('an aborted putter queues nothing; a putter still waiting goes in once there is room', T, async () => {
    const q = new Queue<string>({ maxsize: 1 });
    await q.put('a');
    const ac = new AbortController();
    const aborted = q.put('b', { signal: ac.signal });
    const live = q.put('c', { timeoutMs: 5_000 });
    await sleep(10);
    ac.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    assert.equal(await q.get(), 'a');
    await live;
    assert.equal(await q.get({ timeoutMs: 1000 }), 'c');
    assertIdle(q, 0);
  });

  it('gets racing puts with deadlines around them lose and double nothing', T, async () => {
    const q = new Queue<number>({ maxsize: 2 });
    const got: number[] = [];
    let put = 0;
    const getters = Array.from({ length: 4 }, async (_, i) => {
      for (let k = 0; k < 40; k++) {
        try {
          got.push(await q.get({ timeoutMs: 1 + ((i + k) % 6) }));
        } catch (err) {
          assert.ok(err instanceof QueueEmptyError);
        }
      }
    });
    const putters = Array.from({ length: 2 }, async (_, i) => {
      for (let k = 0; k < 60; k++) {
        try {
          await q.put(i * 1000 + k, { timeoutMs: 1 + (k % 4) });
          put++;
        } catch (err) {
          assert.ok(err instanceof QueueFullError);
        }
        if (k % 5 === 0) await sleep(1);
      }
    });
    await within(20_000, Promise.all([...getters, ...putters]));
    while (!q.empty()) got.push(q.getNowait());
    assert.equal(got.length, put, 'every item put came out once');
    assert.equal(new Set(got).size, got.length);
    assertIdle(q, 0);
  });

  it('close() while getters and putters wait: each rejects with ClosedError, the items left drain', T, async () => {
    const q = new Queue<number>({ maxsize: 1 });
    const empty = new Queue<number>();
    await q.put(1);
    const putters = [q.put(2), q.put(3)].map((p) => assert.rejects(p, ClosedError));
    const getters = [empty.get(), empty.get({ timeoutMs: 10_000 })].map((p) => assert.rejects(p, ClosedError));
    await sleep(10);
    q.close();
    empty.close();
    await within(5_000, Promise.all([...putters, ...getters]));
    assertIdle(q, 1);
    assertIdle(empty, 0);
    assert.equal(await q.get(), 1);
    await assert.rejects(q.get(), ClosedError);
    await assert.rejects(q.put(4), ClosedError);
  });
});

describe('JoinableQueue: join exits leave the count exact', () => {
  it('a join that times out rejects with TimeoutError after the timeout; taskDone then lets join through', T, async () => {
    const q = new JoinableQueue<number>();
    await q.put(1);
    const r = await timed(() => q.join({ timeoutMs: 40 }));
    assert.ok(r.value instanceof TimeoutError);
    assertTimedOut(r.ms, 40);
    const ac = new AbortController();
    const aborted = q.join({ signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    assert.equal(q.unfinishedTasks, 1);
    const joined = q.join({ timeoutMs: 5_000 });
    assert.equal(await q.get(), 1);
    q.taskDone();
    await joined;
    assert.equal(q.unfinishedTasks, 0);
  });
});

describe('Pipe: recv/send exits leave it whole', () => {
  it('a recv that times out or is aborted takes nothing; the next object arrives once', T, async () => {
    const [a, b] = Pipe<number>();
    const r = await timed(() => b.recv({ timeoutMs: 40 }));
    assert.ok(r.value instanceof TimeoutError);
    assertTimedOut(r.ms, 40);
    const ac = new AbortController();
    const aborted = b.recv({ signal: ac.signal });
    await sleep(5);
    ac.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    await a.send(7);
    assert.equal(await b.recv({ timeoutMs: 1000 }), 7);
    assert.equal(await b.poll(0), false);
  });

  it('a send that times out on a full pipe sends nothing', T, async () => {
    const [a, b] = Pipe<string>(true, { capacityBytes: 64 });
    await a.send('x'.repeat(30));
    const r = await timed(() => a.send('y'.repeat(30), { timeoutMs: 40 }));
    assert.ok(r.value instanceof TimeoutError);
    assertTimedOut(r.ms, 40);
    assert.equal(await b.recv(), 'x'.repeat(30));
    assert.equal(await b.poll(0), false, 'the timed-out object was not sent');
    await a.send('z', { timeoutMs: 1000 });
    assert.equal(await b.recv(), 'z');
  });
});
