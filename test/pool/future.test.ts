// The Future API: result with a time-out, cancel of a queued task, exception(), done callbacks.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError, InvalidArgumentError, ThreadPoolExecutor, TimeoutError, type Future } from 'threadkit';
import { fail, inc, sleepThen } from '../fixtures/pool-targets.ts';
import { assertNoLeaks, rejection, within } from './helpers.ts';

describe('Future', () => {
  it('rejects result(timeoutMs) with a TimeoutError while the task goes on, and a later result() gets the value', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const f = ex.submit(sleepThen, 300, 'late');
    const err = await rejection(f.result(10));
    assert.ok(err instanceof TimeoutError);
    assert.equal(err.code, 'TK_TIMEOUT');
    assert.equal(f.done(), false);
    assert.equal(await within(20_000, f.result()), 'late');
    for (const bad of [-5, Number.NaN, '10']) {
      const result = f.result(bad as number); // rejects: never throws where a promise is expected
      assert.ok(result instanceof Promise);
      assert.ok((await rejection(result)) instanceof InvalidArgumentError);
    }
    assert.equal(
      await within(20_000, ex.submit(sleepThen, 50, 'forever').result(-1)),
      'forever',
      'result(-1) waits forever, as Lock.acquire({ timeoutMs: -1 }) does',
    );
  });

  it('cancels a queued task: cancel() is true, the future is cancelled and result() rejects with CancelledError', async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const first = ex.submit(sleepThen, 200, 'first');
    const queued = ex.submit(inc, 1);
    await within(
      20_000,
      new Promise<void>((resolve) => {
        const t = setInterval(() => first.running() && (clearInterval(t), resolve()), 2);
      }),
    );
    assert.equal(queued.running(), false);
    assert.equal(queued.cancel(), true);
    assert.equal(queued.cancel(), true, 'cancelling twice still says cancelled');
    assert.equal(queued.cancelled(), true);
    assert.equal(queued.done(), true);
    assert.ok((await rejection(queued.result())) instanceof CancelledError);
    assert.ok((await rejection(queued.exception())) instanceof CancelledError);
    assert.equal(first.cancel(), false, 'a running task cannot be cancelled');
    assert.equal(await within(20_000, first.result()), 'first');
    assert.equal(first.cancel(), false, 'nor can a finished one');
    await ex.shutdown();
    await assertNoLeaks(ex);
  });

  it('gives exception() undefined for a success and the error for a failure', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 2 });
    assert.equal(await within(20_000, ex.submit(inc, 1).exception()), undefined);
    const err = await within(20_000, ex.submit(fail, 'no').exception());
    assert.ok(err instanceof TypeError);
  });

  it('calls done callbacks once each, in order, also when added after completion, and survives one that throws', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const calls: string[] = [];
    const f = ex.submit(sleepThen, 20, 'v');
    const seen: Future<unknown>[] = [];
    f.addDoneCallback((g) => {
      seen.push(g);
      calls.push('a');
    });
    f.addDoneCallback(() => {
      calls.push('b');
      throw new Error('a callback that throws');
    });
    f.addDoneCallback(() => calls.push('c'));
    await within(20_000, f.result());
    f.addDoneCallback(() => calls.push('late'));
    assert.deepEqual(calls, ['a', 'b', 'c', 'late']);
    assert.equal(seen[0], f);
  });
});
