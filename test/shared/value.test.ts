import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InvalidArgumentError, InvalidStateError, Lock, RawValue, RLock, SharedArray, Value } from 'threadkit';
import { encode as encodeFor } from '../../dist/internal/for-tests.js';
import { decode, encode, liveWorkers, runBunch } from '../helpers/workers.ts';

const T = { timeout: 30_000 };

afterEach(() => assert.equal(liveWorkers(), 0, 'every worker this test started has exited'));

describe('Value', () => {
  it('holds numbers of each typecode, and bigints for q and Q', () => {
    assert.equal(new Value('i', 7).value, 7);
    assert.equal(new Value('d', 1.5).value, 1.5);
    assert.equal(new Value('b', -3).value, -3);
    assert.equal(new Value('B', 255).value, 255);
    assert.equal(new Value('q', 2n ** 40n).value, 2n ** 40n);
    assert.equal(new Value('Q').value, 0n);
    assert.equal(new Value('f').value, 0);
    const v = new Value('H', 1);
    v.value = 65535;
    assert.equal(v.value, 65535);
  });

  it('an integer typecode refuses what it cannot hold, instead of wrapping or truncating it', () => {
    for (const [code, bad, why] of [
      ['B', 300, /typecode 'B' holds integers from 0 to 255, got `300`/],
      ['b', -129, /from -128 to 127/],
      ['I', -1, /from 0 to 4294967295/],
      ['i', 1.5, /typecode 'i' holds integers, got `1\.5`; round it first/],
      ['i', Number.NaN, /holds integers, got `NaN`/],
      ['h', Number.POSITIVE_INFINITY, /holds integers, got `Infinity`/],
      ['l', 2 ** 40, /'l' is 32-bit here, where CPython's C long is 64-bit on Linux: use 'q'/],
      ['L', 2 ** 32, /use 'Q'/],
    ] as const) {
      assert.throws(
        () => new Value(code, bad),
        (err: Error) => err instanceof InvalidArgumentError && why.test(err.message),
        `${code} ${bad}`,
      );
      const v = new Value(code, 1);
      assert.throws(() => {
        v.value = bad;
      }, InvalidArgumentError);
      assert.equal(v.value, 1, 'a refused write leaves the value as it was');
    }
    assert.throws(() => new Value('Q', -1n), /holds integers from 0 to 18446744073709551615/);
    assert.throws(() => new Value('q', 2n ** 63n), /from -9223372036854775808 to 9223372036854775807/);
    assert.equal(new Value('q', -(2n ** 63n)).value, -(2n ** 63n));
    assert.equal(new Value('d', Number.NaN).value, Number.NaN);
    assert.throws(() => new SharedArray('B', [1, 256]), /\[1\].*holds integers from 0 to 255/);
  });

  it('the lock option is true, false, a Lock or an RLock; anything else is refused', () => {
    for (const lock of ['yes', 1, {}, null]) {
      assert.throws(() => new Value('i', 0, { lock: lock as unknown as boolean }), /new Value\(\): expected `lock` to be true, false, a Lock or an RLock/);
      assert.throws(() => new SharedArray('i', 2, { lock: lock as unknown as boolean }), /new SharedArray\(\): expected `lock`/);
    }
  });

  it('an unknown typecode or a value of the wrong type is refused', () => {
    assert.throws(() => new Value('z' as 'i', 1), InvalidArgumentError);
    assert.throws(() => new Value('q', 1 as unknown as bigint), InvalidArgumentError);
    const v = new Value('i', 0);
    assert.throws(() => {
      (v as Value<'i'>).value = 1n as unknown as number;
    }, InvalidArgumentError);
  });

  it('getLock returns an RLock by default, the given lock, or throws with lock: false', () => {
    assert.ok(new Value('i').getLock() instanceof RLock);
    const lock = new Lock();
    assert.equal(new Value('i', 0, { lock }).getLock(), lock);
    assert.throws(() => new Value('i', 0, { lock: false }).getLock(), InvalidStateError);
  });

  it('getObj and a revived copy share the same memory', () => {
    const v = new Value('d', 1);
    const raw = v.getObj();
    raw.value = 2.25;
    assert.equal(v.value, 2.25);
    const copy = decode(encode(v)) as Value<'d'>;
    copy.value = 3;
    assert.equal(v.value, 3);
    assert.equal(copy.getLock().locked(), false);
    v.getLock().tryAcquire();
    assert.equal(copy.getLock().locked(), true);
  });

  it('RawValue has no lock and a one-element view', () => {
    const r = new RawValue('i', 5);
    assert.equal(r.view.length, 1);
    assert.equal(r.view[0], 5);
    assert.equal('getLock' in r, false);
  });

  for (const mode of ['workers', 'workers-sync'] as const) {
    it(`4 workers x 5000 increments under getLock() add up exactly (${mode})`, T, async () => {
      const v = new Value('i', 0);
      await runBunch(mode, 'sharedIncrement', 4, { target: v, iterations: 5_000 });
      assert.equal(v.value, 20_000);
    });
  }
});

describe("a Value's lock", () => {
  it('lives in the memory the value asks for, so that a process-shared Value and its lock can both cross to a Process', () => {
    for (const v of [new Value('i', 0, { memory: 'process' }), new SharedArray('i', 2, { memory: 'process' })]) {
      // Refused (its lock in a SharedArrayBuffer, which cannot cross fork()) before the fix, whatever THREADKIT_MEMORY says.
      assert.doesNotThrow(() => encodeFor(v, 'args', 'process'));
      assert.ok(v.getLock() instanceof RLock);
    }
  });
});
