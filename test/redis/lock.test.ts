// RedisLock against a real redis-server: the lease, the fence, waits and their time limits, and
// the state each way out of a wait leaves behind; holders in other processes killed and paused.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { InvalidStateError, LockNotHeldError, LockOwnerDiedError, TimeoutError } from 'threadkit';
import { ClusterExecutor, LeaseLostError, RedisLock, RedisUnavailableError, StaleFenceError } from 'threadkit/redis';
import { add } from './fixtures/cluster-targets.ts';
import { within } from '../helpers/deadline.ts';
import { RedisServer, redisSkip } from './helpers.ts';
import { LineProcess } from './process.ts';

const HOLDER = fileURLToPath(new URL('./fixtures/lock-holder.ts', import.meta.url));
let n = 0;
const unique = () => `t${process.pid}-${++n}`;

describe('RedisLock', redisSkip(), () => {
  let server: RedisServer;
  let redis: Redis;
  const locks: RedisLock[] = [];
  const lock = (name: string, leaseMs = 5000) => {
    const l = new RedisLock({ redis: server.url, name, leaseMs });
    locks.push(l);
    return l;
  };

  before(async () => {
    server = await RedisServer.start();
    redis = new Redis(server.url);
    redis.on('error', () => {});
  });
  after(async () => {
    await Promise.all(locks.map((l) => l.close()));
    redis.disconnect();
    await server.stop();
  });

  it('acquires and releases, with a fence that grows at every acquisition', async () => {
    const name = unique();
    const a = lock(name);
    assert.equal(await a.acquire(), true);
    const f1 = a.fence!;
    assert.ok(f1 >= 1);
    assert.equal(await a.locked(), true);
    assert.equal(a.signal!.aborted, false);
    await a.release();
    assert.equal(a.fence, undefined);
    assert.equal(await a.locked(), false);
    assert.equal(await a.acquire({ timeoutMs: 0 }), true);
    assert.equal(a.fence, f1 + 1);
    await a.release();
    await assert.rejects(a.release(), LockNotHeldError);
  });

  it('times out a wait (false, after at least timeoutMs) and leaves the holder and the lock whole', async () => {
    const name = unique();
    const holder = lock(name);
    const other = lock(name);
    await holder.acquire();
    const t0 = performance.now();
    assert.equal(await other.acquire({ timeoutMs: 300 }), false);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 299 && elapsed < 3000, `waited ${elapsed} ms for a 300 ms timeout`);
    assert.equal(other.fence, undefined);
    assert.equal(await holder.locked(), true);
    assert.equal(holder.signal!.aborted, false);
    await holder.release();
    assert.equal(await other.acquire({ timeoutMs: 1000 }), true);
    await other.release();
  });

  it('wakes a waiter on release by message, long before the lease would run out', async () => {
    const name = unique();
    const holder = lock(name, 20_000);
    const waiter = lock(name, 20_000);
    await holder.acquire();
    const got = waiter.acquire({ timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    await holder.release();
    assert.equal(await got, true);
    assert.ok(performance.now() - t0 < 5000, 'the waiter was not woken by the release');
    await waiter.release();
  });

  it('an aborted wait rejects with the reason and leaves nothing acquired', async () => {
    const name = unique();
    const holder = lock(name);
    const other = lock(name);
    await holder.acquire();
    const ac = new AbortController();
    const waiting = other.acquire({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop waiting')), 100);
    await assert.rejects(waiting, /stop waiting/);
    assert.equal(other.fence, undefined);
    await holder.release();
    assert.equal(await holder.locked(), false);
    await assert.rejects(other.acquire({ signal: AbortSignal.abort(new Error('already')) }), /already/);
    assert.equal(await holder.locked(), false);
  });

  it('withLock excludes three clients exactly: 3 × 15 read-wait-write increments, no update lost', async () => {
    const name = unique();
    const key = `${name}:counter`;
    await redis.set(key, '0');
    const worker = async (l: RedisLock) => {
      for (let i = 0; i < 15; i++) {
        await l.withLock(
          async ({ fence }) => {
            const v = Number(await redis.get(key));
            await new Promise((r) => setTimeout(r, 2));
            await l.setIfFence(key, String(v + 1), fence);
          },
          { timeoutMs: 20_000 },
        );
      }
    };
    await within(60_000, Promise.all([worker(lock(name)), worker(lock(name)), worker(lock(name))]), 'the increments');
    assert.equal(await redis.get(key), '45');
  });

  it('withLock releases when fn throws, and throws TimeoutError when the lock is not acquired in time', async () => {
    const name = unique();
    const a = lock(name);
    await assert.rejects(
      a.withLock(() => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await a.locked(), false);
    await a.acquire();
    const b = lock(name);
    await assert.rejects(
      b.withLock(() => 1, { timeoutMs: 100 }),
      TimeoutError,
    );
    await a.release();
    assert.equal(await b.withLock(({ fence }) => fence), a.fence ?? (await redis.hget(`tk:lock:{${name}}:meta`, 'fence').then(Number)));
  });

  it('renews the lease while held: a holding outlives several leases', async () => {
    const name = unique();
    const a = lock(name, 300);
    await a.acquire();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(a.signal!.aborted, false);
    assert.equal(await a.locked(), true);
    await a.release();
  });

  it("with Redis paused, the holder's own clock aborts its signal with LeaseLostError", async () => {
    const name = unique();
    const a = lock(name, 400);
    await a.acquire();
    const signal = a.signal!;
    const lost = new Promise<unknown>((r) => signal.addEventListener('abort', () => r(signal.reason), { once: true }));
    const t0 = performance.now();
    server.pause();
    try {
      // It fires with Redis still paused: the holder learns it from its own clock, not from Redis.
      const reason = await within(5000, lost, 'the lease-lost signal');
      assert.ok(reason instanceof LeaseLostError);
      assert.ok(performance.now() - t0 >= 300, 'the signal fired long before the lease could have run out');
    } finally {
      server.resume();
    }
    // Redis let the lease run out meanwhile: a late release is refused or accepted, never silent corruption.
    await a.release().catch((err) => assert.ok(err instanceof LeaseLostError));
    assert.equal(a.fence, undefined);
  });

  it('a holder killed with SIGKILL poisons the lock: LockOwnerDiedError until recover()', async () => {
    const name = unique();
    const child = new LineProcess([HOLDER, server.url, name, '300']);
    try {
      const fence = Number((await child.line(/^held /)).split(' ')[1]);
      await child.kill();
      const next = lock(name);
      await assert.rejects(within(5000, next.acquire({ timeoutMs: 3000 }), 'acquire'), LockOwnerDiedError);
      assert.equal(next.fence, undefined);
      assert.equal(await next.poisoned(), true);
      await assert.rejects(next.acquire({ timeoutMs: 0 }), LockOwnerDiedError);
      assert.equal(await next.recover(), true);
      assert.equal(await next.recover(), false);
      assert.equal(await next.acquire({ timeoutMs: 1000 }), true);
      assert.equal(next.fence, fence + 1);
      await next.release();
    } finally {
      await child.kill();
    }
  });

  it("a holder paused (SIGSTOP) past its lease wakes up to a refused write: StaleFenceError, the new holder's value kept", async () => {
    const name = unique();
    const key = `${name}:value`;
    const child = new LineProcess([HOLDER, server.url, name, '300']);
    try {
      const fence = Number((await child.line(/^held /)).split(' ')[1]);
      child.signal('SIGSTOP');
      const next = lock(name);
      await assert.rejects(within(5000, next.acquire({ timeoutMs: 3000 }), 'acquire'), LockOwnerDiedError);
      await next.recover();
      assert.equal(await next.acquire({ timeoutMs: 1000 }), true);
      await next.setIfFence(key, 'new', next.fence!);
      child.signal('SIGCONT');
      child.send(`write ${key} stale`);
      assert.equal(await child.line(/^(wrote|refused)/), 'refused TK_STALE_FENCE');
      assert.equal(await child.line(/^lost/), 'lost TK_LEASE_LOST');
      assert.equal(await redis.get(key), 'new');
      await assert.rejects(
        next.setIfFence(key, 'x', fence),
        (err: unknown) => err instanceof StaleFenceError && err.fence === fence && err.currentFence === fence + 1,
      );
      await next.release();
      await assert.rejects(next.setIfFence(key, 'late', fence + 1), StaleFenceError);
      assert.equal(await redis.get(key), 'new');
    } finally {
      await child.kill();
    }
  });

  it('after Redis loses its data, a new holder gets a fence above every earlier one', async () => {
    const name = unique();
    const a = lock(name);
    assert.equal(await a.acquire({ timeoutMs: 1000 }), true);
    const before = a.fence!;
    await redis.flushall(); // what a restart without persistence leaves
    const b = lock(name);
    assert.equal(await b.acquire({ timeoutMs: 1000 }), true);
    assert.ok(b.fence! > before, `fence ${b.fence} after the loss is not above ${before}`);
    assert.ok(Number.isSafeInteger(b.fence));
    await b.release();
  });

  it("a stale holder's write is refused even when Redis lost its data and the new holder has the same fence", async () => {
    const name = unique();
    const key = `${name}:value`;
    const meta = `tk:lock:{${name}}:meta`;
    const a = lock(name);
    assert.equal(await a.acquire({ timeoutMs: 1000 }), true);
    const fence = a.fence!;
    await redis.flushall();
    // The worst case of a lost counter: the next acquisition is issued the stale holder's number again.
    await redis.hset(meta, 'fence', String(fence - 1));
    const b = lock(name);
    assert.equal(await b.acquire({ timeoutMs: 1000 }), true);
    assert.equal(b.fence, fence);
    await b.setIfFence(key, 'new', fence);
    await assert.rejects(
      a.setIfFence(key, 'stale', fence),
      (err: unknown) => err instanceof StaleFenceError && err.fence === fence && /same fence number/.test(err.message),
    );
    assert.equal(await redis.get(key), 'new');
    // Another object that does not hold the fence cannot write with it either.
    await assert.rejects(lock(name).setIfFence(key, 'other', fence), /does not hold that fence/);
    assert.equal(await redis.get(key), 'new');
    await b.release();
  });

  it('close() rejects a pending acquire, and every later call, with InvalidStateError naming the lock; the holder keeps it', async () => {
    const name = unique();
    const holder = lock(name, 60_000);
    assert.equal(await holder.acquire({ timeoutMs: 1000 }), true);
    const b = new RedisLock({ redis: server.url, name, leaseMs: 60_000 });
    const closed = (err: unknown) => err instanceof InvalidStateError && err.message === `RedisLock "${name}" is closed; create a new one.`;
    const pending = assert.rejects(within(10_000, b.acquire(), 'the pending acquire'), closed);
    await new Promise((r) => setTimeout(r, 100));
    await within(5000, b.close(), 'close');
    await pending;
    for (const call of [() => b.acquire(), () => b.locked(), () => b.poisoned(), () => b.recover(), () => b.setIfFence('k', 'v', 1)])
      await assert.rejects(within<unknown>(5000, call(), 'a call after close'), closed);
    assert.equal(holder.signal!.aborted, false);
    assert.equal(await holder.locked(), true);
    await holder.release();
  });

  it('a URL naming a database the server does not have is refused with RedisUnavailableError naming it, not run in database 0', async () => {
    const bad = new RedisLock({ redis: `${server.url}/99`, name: unique() });
    try {
      await assert.rejects(
        within(10_000, bad.acquire(), 'acquire'),
        (err: unknown) => err instanceof RedisUnavailableError && /cannot use database 99/.test(err.message),
      );
      await assert.rejects(within(5000, bad.locked(), 'locked'), /database 99/);
    } finally {
      await bad.close();
    }
    const executor = new ClusterExecutor({ redis: `${server.url}/99`, queue: 'db99' });
    await assert.rejects(within(10_000, executor.submit(add, 1, 2).result(), 'the result'), /cannot use database 99/);
    await within(10_000, executor.shutdown(), 'shutdown');
    const good = new RedisLock({ redis: `${server.url}/3`, name: unique() });
    try {
      assert.equal(await within(5000, good.acquire({ timeoutMs: 1000 }), 'acquire in db 3'), true);
      await good.release();
    } finally {
      await good.close();
    }
  });

  it('takes a client from another copy of ioredis as a client (by what it does, not its class), and refuses a half one', async () => {
    const own = new Redis(server.url);
    // What `instanceof Redis` sees of a client made by another copy of ioredis: another prototype chain.
    const foreign = new Proxy(own, { getPrototypeOf: () => Object.prototype });
    assert.equal(foreign instanceof Redis, false);
    const name = unique();
    const l = new RedisLock({ redis: foreign as unknown as Redis, name });
    try {
      assert.equal(await within(5000, l.acquire({ timeoutMs: 1000 }), 'acquire'), true);
      assert.equal(await redis.exists(`tk:lock:{${name}}`), 1, 'the lock is not on the server the client talks to');
      await l.release();
    } finally {
      await l.close();
      own.disconnect();
    }
    assert.throws(() => new RedisLock({ redis: { status: 'ready', sendCommand() {} } as never, name }), /looks like a Redis client but lacks duplicate\(\)/);
  });

  it('keeps a holding across a Redis restart (append-only file) and releases it after', async () => {
    const name = unique();
    const a = lock(name, 5000);
    await a.acquire();
    const fence = a.fence!;
    await server.restart();
    await new Promise((r) => setTimeout(r, 2500)); // a renewal or two, reconnected
    assert.equal(a.signal!.aborted, false);
    assert.equal(await a.locked(), true);
    await a.release();
    assert.equal(await a.acquire({ timeoutMs: 1000 }), true);
    assert.equal(a.fence, fence + 1);
    await a.release();
  });
});
