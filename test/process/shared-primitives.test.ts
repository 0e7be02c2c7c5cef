// The same primitives and shared values, passed to Processes, keep excluding and sharing.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Barrier,
  Condition,
  Event,
  Lock,
  LockOwnerDiedError,
  NotCloneableError,
  NotSupportedError,
  Process,
  RawValue,
  RLock,
  Semaphore,
  SharedArray,
  Value,
} from 'threadkit';
import { within } from '../helpers/deadline.ts';
import { available as addonBuilt } from '../../dist/internal/for-tests.js';
import { fill, holdForever, increment, incrementSync, meet, waitForCondition, waitForEvent } from '../fixtures/process-shared.ts';

const processShared = addonBuilt && process.env.THREADKIT_MEMORY !== 'thread';

async function runAll(processes: Process[]): Promise<void> {
  for (const p of processes) p.start();
  await within(60_000, Promise.all(processes.map((p) => p.join())), 'the processes');
  for (const p of processes) assert.equal(p.exitCode, 0, String(p.error));
}

it('refuses thread-only primitives at start(), saying how to make them process-shared', () => {
  const lock = new Lock({ memory: 'thread' });
  assert.throws(
    () => new Process({ target: holdForever, args: [lock] }).start(),
    (err: Error) => err instanceof NotCloneableError && /args\[0\]/.test(err.message) && /memory: 'process'/.test(err.message),
  );
});

if (!addonBuilt) {
  it('says that process-shared memory needs the native addon, where it is not available', () => {
    assert.throws(
      () => new Lock({ memory: 'process' }),
      (err: Error) => err instanceof NotSupportedError && /addon/.test(err.message),
    );
  });
}

describe('primitives shared with processes', () => {
  if (!processShared) return;
  for (const [name, make] of [
    ['Lock', () => new Lock()],
    ['RLock', () => new RLock()],
    ['Semaphore(1)', () => new Semaphore(1)],
  ] as const) {
    it(`3 processes x 1500 read-modify-writes under a ${name} add up exactly`, async () => {
      const guard = make();
      const counter = new RawValue('i', 0);
      await runAll([0, 1, 2].map(() => new Process({ target: increment, args: [guard, counter, 1500] })));
      assert.equal(counter.value, 4500);
    });
  }

  it('3 processes blocking in acquireSync add up exactly, with this process taking the lock too', async () => {
    const lock = new Lock();
    const counter = new RawValue('i', 0);
    const ps = [0, 1, 2].map(() => new Process({ target: incrementSync, args: [lock, counter, 3000] }));
    for (const p of ps) p.start();
    for (let i = 0; i < 500; i++) {
      await lock.acquire();
      counter.value = counter.value + 1;
      lock.release();
    }
    await within(60_000, Promise.all(ps.map((p) => p.join())));
    assert.equal(counter.value, 9500);
  });

  it('wakes a process waiting on an Event when this process sets it', async () => {
    const event = new Event();
    const p = new Process({ target: waitForEvent, args: [event, 30_000] });
    p.start();
    await new Promise((r) => setTimeout(r, 200));
    event.set();
    await within(30_000, p.join());
    assert.equal(p.result, true);
  });

  it('wakes a process waiting on a Condition when this process notifies it', async () => {
    const cond = new Condition();
    const flag = new RawValue('i', 0);
    const p = new Process({ target: waitForCondition, args: [cond, flag, 30_000] });
    p.start();
    await new Promise((r) => setTimeout(r, 200));
    await cond.withLock(() => {
      flag.value = 1;
      cond.notifyAll();
    });
    await within(30_000, p.join());
    assert.equal(p.result, 1);
  });

  it('lets two processes and this one meet at a Barrier, each with its own arrival index', async () => {
    const barrier = new Barrier(3);
    const ps = [0, 1].map(() => new Process({ target: meet, args: [barrier, 30_000] }));
    for (const p of ps) p.start();
    const mine = await within(30_000, barrier.wait({ timeoutMs: 30_000 }));
    await within(30_000, Promise.all(ps.map((p) => p.join())));
    assert.deepEqual([mine, ...ps.map((p) => p.result as number)].sort(), [0, 1, 2]);
  });

  it('shows this process what a child wrote into a Value and a SharedArray', async () => {
    const value = new Value('d', 0);
    const array = new SharedArray('i', 5);
    await runAll([new Process({ target: fill, args: [value, array] })]);
    assert.equal(value.value, 2.5);
    assert.deepEqual(array.toArray(), [0, 1, 4, 9, 16]);
  });

  it('poisons a lock whose holder process is killed: the waiter gets LockOwnerDiedError instead of hanging', async () => {
    const lock = new Lock({ name: 'the account' });
    const p = new Process({ target: holdForever, args: [lock], daemon: true });
    p.start();
    const deadline = Date.now() + 20_000;
    while (!lock.locked() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(lock.locked(), 'the child should hold the lock');
    p.kill();
    await within(20_000, p.join());
    await assert.rejects(within(20_000, lock.acquire({ timeoutMs: 15_000 })), LockOwnerDiedError);
    assert.equal(lock.recover(), true);
    assert.equal(await lock.acquire({ timeoutMs: 1000 }), true);
    lock.release();
  });
});
