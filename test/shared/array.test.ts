import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InvalidArgumentError, RawArray, RLock, SharedArray } from 'threadkit';
import { decode, encode, liveWorkers, runBunch } from '../helpers/workers.ts';
import { originOf } from '../../dist/internal/for-tests.js';

const T = { timeout: 30_000 };

afterEach(() => assert.equal(liveWorkers(), 0, 'every worker this test started has exited'));

describe('SharedArray', () => {
  it('is created zeroed from a length or from initial elements', () => {
    const zeros = new SharedArray('d', 10);
    assert.equal(zeros.length, 10);
    assert.deepEqual(zeros.toArray(), new Array(10).fill(0));
    const ids = new SharedArray('i', [1, 2, 3]);
    assert.deepEqual([...ids], [1, 2, 3]);
    assert.deepEqual(new SharedArray('q', [1n, 2n]).toArray(), [1n, 2n]);
    assert.ok(ids.view instanceof Int32Array);
    // Shared memory: process-shared (mapped from /dev/shm) by default where the addon exists.
    assert.ok(ids.view.buffer instanceof SharedArrayBuffer || originOf(ids.view.buffer) !== undefined);
    assert.ok(new SharedArray('i', 3, { memory: 'thread' }).view.buffer instanceof SharedArrayBuffer);
  });

  it('get and set check the index and the element type', () => {
    const a = new SharedArray('i', 3);
    a.set(2, 9);
    assert.equal(a.get(2), 9);
    assert.throws(() => a.get(3), InvalidArgumentError);
    // Negative indexes count from the end, as in Python's multiprocessing.Array.
    a.set(-3, 7);
    assert.deepEqual([a.get(0), a.get(-1)], [7, 9]);
    assert.throws(
      () => a.set(-4, 0),
      (err: Error) => err instanceof InvalidArgumentError && /out of range -3\.\.2/.test(err.message),
    );
    assert.throws(() => a.get(0.5), InvalidArgumentError);
    assert.throws(() => a.set(0, 1n as unknown as number), InvalidArgumentError);
    assert.throws(() => new SharedArray('i', -1), InvalidArgumentError);
  });

  it('a revived copy and getObj share the elements and the lock', () => {
    const a = new SharedArray('H', [1, 2]);
    const copy = decode(encode(a)) as SharedArray<'H'>;
    copy.set(0, 500);
    assert.equal(a.get(0), 500);
    a.getObj().set(1, 7);
    assert.equal(copy.get(1), 7);
    assert.ok(a.getLock() instanceof RLock);
    a.getLock().tryAcquire();
    assert.equal(copy.getLock().locked(), true);
  });

  it('RawArray is a lock-free array over shared memory', () => {
    const r = new RawArray('f', [0.5, 1.5]);
    assert.deepEqual(r.toArray(), [0.5, 1.5]);
    const copy = decode(encode(r)) as RawArray<'f'>;
    copy.set(0, 2.5);
    assert.equal(r.get(0), 2.5);
  });

  for (const mode of ['workers', 'workers-sync'] as const) {
    it(`4 workers x 5000 increments of element 0 under getLock() add up exactly (${mode})`, T, async () => {
      const a = new SharedArray('i', 4);
      await runBunch(mode, 'sharedIncrement', 4, { target: a, iterations: 5_000 });
      assert.equal(a.get(0), 20_000);
    });
  }
});
