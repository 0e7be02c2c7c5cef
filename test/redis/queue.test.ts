// RedisQueue and RedisJoinableQueue against a real redis-server: order, what crosses, time
// limits and signals (and the state they leave), exact totals with several consumers, and an item
// held by a consumer killed with SIGKILL coming back to another.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { InvalidStateError, Lock, NotCloneableError, QueueEmptyError, QueueFullError, TimeoutError } from 'threadkit';
import { RedisJoinableQueue, RedisQueue } from 'threadkit/redis';
import { within } from '../helpers/deadline.ts';
import { RedisServer, redisSkip } from './helpers.ts';
import { LineProcess } from './process.ts';

const CONSUMER = fileURLToPath(new URL('./fixtures/queue-consumer.ts', import.meta.url));
let n = 0;
const unique = () => `q${process.pid}-${++n}`;

describe('RedisQueue', redisSkip(), () => {
  let server: RedisServer;
  const open: Array<{ close(): Promise<void> }> = [];
  const queue = <T>(name: string, extra: { maxsize?: number; visibilityTimeoutMs?: number } = {}) => {
    const q = new RedisQueue<T>({ redis: server.url, name, ...extra });
    open.push(q);
    return q;
  };
  const joinable = <T>(name: string, extra: { visibilityTimeoutMs?: number } = {}) => {
    const q = new RedisJoinableQueue<T>({ redis: server.url, name, ...extra });
    open.push(q);
    return q;
  };

  before(async () => {
    server = await RedisServer.start();
  });
  after(async () => {
    await Promise.all(open.map((q) => q.close()));
    await server.stop();
  });

  it('is FIFO across objects, and values cross as between processes (Map, Date, nested, Error)', async () => {
    const name = unique();
    const a = queue<unknown>(name);
    const b = queue<unknown>(name);
    const when = new Date(1_700_000_000_000);
    await a.put(1);
    await a.put({ m: new Map([['k', [1, 2]]]), when });
    await a.put(new RangeError('bad range'));
    assert.equal(await b.qsize(), 3);
    assert.equal(await b.get(), 1);
    const second = (await b.get()) as { m: Map<string, number[]>; when: Date };
    assert.deepEqual(second.m.get('k'), [1, 2]);
    assert.equal(second.when.getTime(), when.getTime());
    const err = await b.get();
    assert.ok(err instanceof RangeError && err.message === 'bad range');
    assert.equal(await a.empty(), true);
  });

  it('refuses threadkit shared memory, which lives on one machine, naming the path', async () => {
    const q = queue<unknown>(unique());
    await assert.rejects(q.put({ guard: new Lock() }), (err: unknown) => err instanceof NotCloneableError && err.path === 'item.guard');
    assert.equal(await q.qsize(), 0);
  });

  it('times out get on an empty queue (QueueEmptyError after ≥ timeoutMs) and the queue stays usable', async () => {
    const q = queue<number>(unique());
    const t0 = performance.now();
    await assert.rejects(q.get({ timeoutMs: 300 }), QueueEmptyError);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 299 && elapsed < 3000, `waited ${elapsed} ms`);
    await assert.rejects(q.getNowait(), QueueEmptyError);
    await q.put(7);
    assert.equal(await q.get({ timeoutMs: 1000 }), 7);
  });

  it('bounds put by maxsize: QueueFullError after ≥ timeoutMs, item not queued; a get makes room for a waiting put', async () => {
    const name = unique();
    const q = queue<number>(name, { maxsize: 2 });
    await q.put(1);
    await q.put(2);
    assert.equal(await q.full(), true);
    const t0 = performance.now();
    await assert.rejects(q.put(3, { timeoutMs: 300 }), QueueFullError);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 299 && elapsed < 3000, `waited ${elapsed} ms`);
    assert.equal(await q.qsize(), 2);
    const waiting = q.put(3, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await queue<number>(name).get(), 1);
    await within(5000, waiting, 'the waiting put');
    assert.deepEqual([await q.get(), await q.get()], [2, 3]);
  });

  it('a get woken by a put on another object returns it; an aborted get rejects and takes nothing', async () => {
    const name = unique();
    const getter = queue<number>(name, { visibilityTimeoutMs: 1000 });
    const waiting = getter.get({ timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    await queue<number>(name).put(5);
    assert.equal(await within(5000, waiting, 'get'), 5);
    const ac = new AbortController();
    const aborted = getter.get({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 100);
    await assert.rejects(aborted, /stop/);
    await getter.put(6);
    assert.equal(await getter.get({ timeoutMs: 5000 }), 6);
  });

  it('after an aborted get, a put through the same object is queued whole: maxsize holds and the next get returns it', async () => {
    const name = unique();
    const q = queue<string>(name, { maxsize: 1, visibilityTimeoutMs: 30_000 });
    const other = queue<string>(name, { maxsize: 1, visibilityTimeoutMs: 30_000 });
    const ac = new AbortController();
    const aborted = q.get({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 100);
    await assert.rejects(within(5000, aborted, 'the aborted get'), /stop/);
    await within(5000, q.put('A'), 'put A');
    assert.equal(await within(5000, q.qsize(), 'qsize'), 1, 'A is not counted as queued');
    await assert.rejects(within(5000, q.put('B', { timeoutMs: 200 }), 'put B'), QueueFullError);
    assert.equal(await within(5000, other.get({ timeoutMs: 2000 }), 'get A'), 'A');
    await within(5000, q.put('B'), 'put B');
    assert.equal(await within(5000, other.get({ timeoutMs: 2000 }), 'get B'), 'B');
    assert.equal(await q.qsize(), 0);
    // The aborted object's reader still serves it.
    await other.put('C');
    assert.equal(await within(5000, q.get({ timeoutMs: 2000 }), 'get C'), 'C');
  });

  it('close() rejects a pending get and put, and every later call, with InvalidStateError naming the queue', async () => {
    const name = unique();
    const closed = (who: string) => (err: unknown) =>
      err instanceof InvalidStateError && err.message.startsWith(who) && /is closed; create a new one/.test(err.message);
    const q = new RedisQueue<number>({ redis: server.url, name, maxsize: 1 });
    const getting = assert.rejects(within(10_000, q.get(), 'the pending get'), closed(`RedisQueue "${name}"`));
    await new Promise((r) => setTimeout(r, 100));
    const full = new RedisQueue<number>({ redis: server.url, name, maxsize: 1 });
    const j = new RedisJoinableQueue<number>({ redis: server.url, name: unique() });
    await j.put(1);
    const joining = assert.rejects(within(10_000, j.join(), 'the pending join'), closed('RedisJoinableQueue'));
    await new Promise((r) => setTimeout(r, 100));
    await within(5000, Promise.all([q.close(), j.close()]), 'close');
    await getting;
    await joining;
    for (const call of [() => q.put(1), () => q.get({ timeoutMs: 0 }), () => q.qsize()])
      await assert.rejects(within<unknown>(5000, call(), 'a call after close'), closed(`RedisQueue "${name}"`));
    await full.put(1);
    const putting = assert.rejects(within(10_000, full.put(2), 'the pending put'), InvalidStateError);
    await new Promise((r) => setTimeout(r, 100));
    await within(5000, full.close(), 'close');
    await putting;
  });

  it('RedisJoinableQueue: three consumers, 60 items, exact sum, join resolves; taskDone too often throws', async () => {
    const name = unique();
    const producer = joinable<number>(name);
    for (let i = 1; i <= 60; i++) await producer.put(i);
    assert.equal(await producer.unfinishedTasks(), 60);
    let sum = 0;
    const consume = async (q: RedisJoinableQueue<number>) => {
      for (;;) {
        let v: number;
        try {
          v = await q.get({ timeoutMs: 200 });
        } catch (err) {
          if (err instanceof QueueEmptyError) return;
          throw err;
        }
        sum += v;
        assert.equal(await q.taskDone(), true);
      }
    };
    const joined = producer.join({ timeoutMs: 20_000 });
    await within(30_000, Promise.all([consume(joinable(name)), consume(joinable(name)), consume(joinable(name))]), 'the consumers');
    await joined;
    assert.equal(sum, (60 * 61) / 2);
    assert.equal(await producer.unfinishedTasks(), 0);
    await assert.rejects(producer.taskDone(), InvalidStateError);
  });

  it('join times out (TimeoutError after ≥ timeoutMs) while an item is unfinished, and resolves once it is done', async () => {
    const q = joinable<number>(unique());
    await q.put(1);
    const t0 = performance.now();
    await assert.rejects(q.join({ timeoutMs: 300 }), TimeoutError);
    assert.ok(performance.now() - t0 >= 299);
    await q.get();
    await q.taskDone();
    await within(2000, q.join({ timeoutMs: 1000 }), 'join');
  });

  it('an item held by a consumer killed with SIGKILL comes back to another after the visibility timeout', async () => {
    const name = unique();
    const q = joinable<number>(name, { visibilityTimeoutMs: 500 });
    await q.put(41);
    await q.put(42);
    const child = new LineProcess([CONSUMER, server.url, name, '500']);
    try {
      assert.equal(await child.line(/^got /), 'got 41');
      await child.kill();
      const seen = [await q.get({ timeoutMs: 5000 }), await q.get({ timeoutMs: 5000 })].sort();
      assert.deepEqual(seen, [41, 42]);
      assert.equal(await q.taskDone(), true);
      assert.equal(await q.taskDone(), true);
      await within(2000, q.join({ timeoutMs: 1000 }), 'join');
    } finally {
      await child.kill();
    }
  });

  it('a live consumer keeps its item past the visibility timeout (renewed), so nobody else gets it', async () => {
    const name = unique();
    const holder = joinable<number>(name, { visibilityTimeoutMs: 300 });
    await holder.put(1);
    assert.equal(await holder.get(), 1);
    await new Promise((r) => setTimeout(r, 900));
    await assert.rejects(joinable<number>(name, { visibilityTimeoutMs: 300 }).get({ timeoutMs: 200 }), QueueEmptyError);
    assert.equal(await holder.taskDone(), true);
  });
});
