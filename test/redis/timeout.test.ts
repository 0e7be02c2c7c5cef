// The one timeout rule (src/internal/timeout.ts) on the Redis waits too: `-1` waits forever, as
// Python's `timeout=-1`, until the wait is satisfied; a negative number other than -1 is refused
// with an InvalidArgumentError naming the call, the value and the fix, before anything is sent.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidArgumentError } from 'threadkit';
import { RedisJoinableQueue, RedisLock, RedisQueue } from 'threadkit/redis';
import { within } from '../helpers/deadline.ts';
import { RedisServer, redisSkip } from './helpers.ts';

let n = 0;
const unique = () => `to${process.pid}-${++n}`;

/** An InvalidArgumentError from `what` for `timeoutMs: -5`, with the fix in its message. */
const refused = (what: string) => (err: Error) => {
  assert.ok(err instanceof InvalidArgumentError, String(err));
  assert.ok(err.message.startsWith(`${what}: expected \`timeoutMs\``), err.message);
  assert.ok(err.message.includes('got `-5` (number)'), err.message);
  assert.ok(err.message.includes('-1 or left out to wait forever'), err.message);
  return true;
};

describe('the timeout rule on Redis waits', redisSkip(), () => {
  let server: RedisServer;
  const open: Array<{ close(): Promise<void> }> = [];
  const track = <T extends { close(): Promise<void> }>(x: T): T => {
    open.push(x);
    return x;
  };

  before(async () => {
    server = await RedisServer.start();
  });
  after(async () => {
    await Promise.all(open.map((x) => x.close()));
    await server.stop();
  });

  it('RedisLock.acquire({ timeoutMs: -1 }) waits past a release and acquires; -5 is refused', async () => {
    const name = unique();
    const holder = track(new RedisLock({ redis: server.url, name }));
    const waiter = track(new RedisLock({ redis: server.url, name }));
    await holder.acquire();
    const waiting = waiter.acquire({ timeoutMs: -1 });
    await new Promise((r) => setTimeout(r, 200));
    await holder.release();
    assert.equal(await within(5000, waiting, 'the -1 acquire'), true);
    await waiter.release();
    await assert.rejects(waiter.acquire({ timeoutMs: -5 }), refused('RedisLock.acquire()'));
    assert.equal(await waiter.locked(), false);
  });

  it('RedisQueue.get({ timeoutMs: -1 }) waits for a put; put and get refuse -5 and the queue is untouched', async () => {
    const q = track(new RedisQueue<number>({ redis: server.url, name: unique(), maxsize: 1 }));
    const waiting = q.get({ timeoutMs: -1 });
    await new Promise((r) => setTimeout(r, 200));
    await q.put(7);
    assert.equal(await within(5000, waiting, 'the -1 get'), 7);
    await assert.rejects(q.put(8, { timeoutMs: -5 }), refused('RedisQueue.put()'));
    await assert.rejects(q.get({ timeoutMs: -5 }), refused('RedisQueue.get()'));
    assert.equal(await q.qsize(), 0);
  });

  it('RedisQueue.put({ timeoutMs: -1 }) waits for room on a full queue', async () => {
    const q = track(new RedisQueue<number>({ redis: server.url, name: unique(), maxsize: 1 }));
    await q.put(1);
    const waiting = q.put(2, { timeoutMs: -1 });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await q.get(), 1);
    await within(5000, waiting, 'the -1 put');
    assert.equal(await q.get({ timeoutMs: 1000 }), 2);
  });

  it('RedisJoinableQueue.join({ timeoutMs: -1 }) waits until the item is done; -5 is refused', async () => {
    const q = track(new RedisJoinableQueue<number>({ redis: server.url, name: unique() }));
    await q.put(1);
    const joined = q.join({ timeoutMs: -1 });
    await new Promise((r) => setTimeout(r, 200));
    await q.get();
    await q.taskDone();
    await within(5000, joined, 'the -1 join');
    await assert.rejects(q.join({ timeoutMs: -5 }), refused('RedisJoinableQueue.join()'));
  });
});
