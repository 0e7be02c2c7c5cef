// Future.result: every way out (timeout, then success, failure or cancellation) leaves the future
// whole: a timed-out result() changes nothing, and later calls see the real outcome (issue 9).
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError, Future, TimeoutError } from 'threadkit';
import { kSettle } from '../../dist/internal/for-tests.js';
import { assertTimedOut, timed } from '../helpers/timing.ts';

describe('Future.result exits', () => {
  it('a result(timeoutMs) that times out rejects after the timeout and leaves the future pending; later calls get the value', async () => {
    const f = new Future<string>();
    const forever = f.result();
    const [a, b] = await Promise.all([timed(() => f.result(30)), timed(() => f.result(60))]);
    for (const [r, ms] of [
      [a, 30],
      [b, 60],
    ] as const) {
      assert.ok(r.value instanceof TimeoutError);
      assertTimedOut(r.ms, ms);
    }
    const e = await timed(() => f.exception(20));
    assert.ok(e.value instanceof TimeoutError);
    assertTimedOut(e.ms, 20);
    assert.deepEqual([f.done(), f.running(), f.cancelled()], [false, false, false]);
    f[kSettle](true, 'value');
    assert.equal(await forever, 'value');
    assert.equal(await f.result(10), 'value');
    assert.equal(await f.exception(), undefined);
  });

  it('after a timed-out result(), a failure or a cancellation is what later calls see', async () => {
    const failing = new Future<never>();
    assert.ok((await timed(() => failing.result(10))).value instanceof TimeoutError);
    failing[kSettle](false, new Error('boom'));
    await assert.rejects(failing.result(), /boom/);
    assert.match(String(await failing.exception(10)), /boom/);

    const cancelled = new Future<never>();
    assert.ok((await timed(() => cancelled.result(10))).value instanceof TimeoutError);
    assert.equal(cancelled.cancel(), true);
    await assert.rejects(cancelled.result(10), CancelledError);
    await assert.rejects(cancelled.exception(10), CancelledError);
  });
});
