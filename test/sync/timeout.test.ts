// One timeout rule for every wait (src/internal/timeout.ts): `undefined`, -1 or Infinity wait
// forever, 0 does not wait, a number above 0 waits that long; anything else is refused with an
// InvalidArgumentError that names the call, the value and its type, and how to wait forever.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertTimedOut } from '../helpers/timing.ts';
import { Barrier, Condition, Event, InvalidArgumentError, JoinableQueue, Lock, Pipe, Queue, RLock, Semaphore } from 'threadkit';

/** One async wait of each kind, called with `timeoutMs`; each is free to go at once. */
const WAITS: [string, (timeoutMs: unknown) => Promise<unknown>][] = [
  ['Lock.acquire()', (t) => new Lock({ memory: 'thread' }).acquire({ timeoutMs: t as number })],
  ['RLock.acquire()', (t) => new RLock({ memory: 'thread' }).acquire({ timeoutMs: t as number })],
  ['Semaphore.acquire()', (t) => new Semaphore(1, { memory: 'thread' }).acquire({ timeoutMs: t as number })],
  [
    'Event.wait()',
    (t) => {
      const e = new Event({ memory: 'thread' });
      e.set();
      return e.wait({ timeoutMs: t as number });
    },
  ],
  ['Queue.put()', (t) => new Queue({ memory: 'thread', capacityBytes: 1024 }).put(1, { timeoutMs: t as number })],
  ['JoinableQueue.join()', (t) => new JoinableQueue({ memory: 'thread', capacityBytes: 1024 }).join({ timeoutMs: t as number })],
  [
    'Connection.poll()',
    async (t) => {
      const [a, b] = Pipe(true, { capacityBytes: 1024 });
      await b.send(1);
      return a.poll(t as number);
    },
  ],
];

const BAD: unknown[] = [-5, -0.5, Number.NaN, -Infinity, '100', null, {}];

describe('the timeout rule', () => {
  for (const [what, wait] of WAITS) {
    it(`${what} takes undefined, -1, Infinity, 0 and a positive number`, async () => {
      for (const t of [undefined, -1, Infinity, 0, 0.5, 50]) await wait(t);
    });

    it(`${what} refuses anything else with an InvalidArgumentError naming the call, the value and the fix`, async () => {
      for (const t of BAD) {
        await assert.rejects(
          Promise.resolve().then(() => wait(t)),
          (err: Error) => {
            assert.ok(err instanceof InvalidArgumentError, `${String(t)}: ${err}`);
            assert.ok(err.message.startsWith(`${what}: expected \`timeoutMs\``), err.message);
            assert.ok(err.message.includes(`got \`${String(t)}\` (${typeof t})`), err.message);
            assert.ok(err.message.includes('-1 or left out to wait forever'), err.message);
            return true;
          },
        );
      }
    });
  }

  it('every async wait refuses a signal that is not an AbortSignal, before it waits, with an InvalidArgumentError naming the call', async () => {
    const cond = new Condition(new Lock({ memory: 'thread' }), { memory: 'thread' });
    const withSignal: [string, (signal: unknown) => Promise<unknown>][] = [
      ['Lock.acquire()', (s) => new Lock({ memory: 'thread' }).acquire({ signal: s as AbortSignal })],
      ['RLock.acquire()', (s) => new RLock({ memory: 'thread' }).acquire({ signal: s as AbortSignal })],
      ['Semaphore.acquire()', (s) => new Semaphore(1, { memory: 'thread' }).acquire({ signal: s as AbortSignal })],
      ['Event.wait()', (s) => new Event({ memory: 'thread' }).wait({ timeoutMs: 0, signal: s as AbortSignal })],
      ['Queue.put()', (s) => new Queue({ memory: 'thread', capacityBytes: 1024 }).put(1, { signal: s as AbortSignal })],
      ['Barrier.wait()', (s) => new Barrier(1, { memory: 'thread' }).wait({ signal: s as AbortSignal })],
      ['Condition.wait()', async (s) => cond.withLock(() => cond.wait({ timeoutMs: 0, signal: s as AbortSignal }))],
    ];
    for (const [what, wait] of withSignal) {
      for (const bad of [{}, 'abort', null, { aborted: false }]) {
        await assert.rejects(
          Promise.resolve().then(() => wait(bad)),
          (err: Error) => {
            assert.ok(err instanceof InvalidArgumentError, `${what} ${String(bad)}: ${err}`);
            assert.ok(err.message.startsWith(`${what}: expected \`signal\` to be an AbortSignal`), err.message);
            return true;
          },
        );
      }
      await wait(new AbortController().signal);
    }
  });

  it('Condition.wait and Barrier check timeoutMs by the same rule', async () => {
    const cond = new Condition(new Lock({ memory: 'thread' }), { memory: 'thread' });
    await cond.acquire();
    try {
      assert.equal(await cond.wait({ timeoutMs: 0 }), false);
      await assert.rejects(cond.wait({ timeoutMs: -5 }), /Condition\.wait\(\): expected `timeoutMs`.*got `-5` \(number\)/);
    } finally {
      cond.release();
    }
    assert.throws(() => new Barrier(2, { timeoutMs: -2, memory: 'thread' }), /new Barrier\(\): expected `timeoutMs`.*got `-2` \(number\)/);
    new Barrier(2, { timeoutMs: -1, memory: 'thread' });
  });

  it('an RLock re-entered by its owner checks timeoutMs too', async () => {
    const rlock = new RLock({ memory: 'thread' });
    assert.equal(await rlock.acquire(), true);
    try {
      await assert.rejects(rlock.acquire({ timeoutMs: -5 }), /RLock\.acquire\(\): expected `timeoutMs`.*got `-5` \(number\)/);
      assert.equal(await rlock.acquire({ timeoutMs: -1 }), true);
      rlock.release();
    } finally {
      rlock.release();
    }
  });

  it('a timed-out wait still answers after about its timeout', async () => {
    const lock = new Lock({ memory: 'thread' });
    assert.equal(lock.tryAcquire(), true);
    const start = performance.now();
    assert.equal(await lock.acquire({ timeoutMs: 30 }), false);
    const elapsed = performance.now() - start;
    assertTimedOut(elapsed, 30);
    lock.release();
  });
});
