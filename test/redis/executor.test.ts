// ClusterExecutor with three `threadkit worker` processes on a real redis-server: results, order,
// errors with their class, retries with backoff, and what crosses; the faults (kill, pause, drain,
// cancel, Redis paused and restarted) are in cluster-faults.test.ts.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { asCompleted, Lock, NotCloneableError, TargetNotFoundError, wait } from 'threadkit';
import { CancelledError } from 'threadkit';
import { ClusterExecutor, LeaseLostError, StaleFenceError } from 'threadkit/redis';
import {
  LeaseLostError as OwnLeaseLostError,
  returnsErrors,
  throwHiddenStaleFence,
  throwOwnLeaseLost,
  throwThreadkitStaleFence,
  throwUnrecoverable,
} from './fixtures/cluster-errors.ts';
import { add, fails, flaky, mirror, Point } from './fixtures/cluster-targets.ts';
import { within } from '../helpers/deadline.ts';
import { RedisServer, redisSkip } from './helpers.ts';
import type { LineProcess } from './process.ts';
import { startWorkers } from './workers.ts';

function notExported(): number {
  return 1;
}

describe('ClusterExecutor', redisSkip(), () => {
  let server: RedisServer;
  let workers: LineProcess[] = [];
  let executor: ClusterExecutor;
  const QUEUE = 'basics';

  before(async () => {
    server = await RedisServer.start();
    workers = await startWorkers(3, server.url, QUEUE, ['-j', '2']);
    executor = new ClusterExecutor({ redis: server.url, queue: QUEUE });
  });
  after(async () => {
    await executor?.shutdown();
    for (const w of workers) w.signal('SIGTERM');
    await Promise.all(workers.map((w) => w.exit(10_000)));
    await server.stop();
  });

  it('runs a submitted call on a worker and returns its result', async () => {
    const f = executor.submit(add, 2, 3);
    assert.equal(await within(20_000, f.result(), 'the result'), 5);
    assert.equal(f.done(), true);
    assert.equal(f.cancelled(), false);
  });

  it('300 tasks submitted right after construction all settle (completion events are read from before the first add)', async () => {
    const e = new ClusterExecutor({ redis: server.url, queue: QUEUE });
    try {
      const fs = Array.from({ length: 300 }, (_, i) => e.submit(add, i, 1));
      const out = await within(30_000, Promise.all(fs.map((f) => f.result())), 'the burst');
      assert.deepEqual(
        out,
        Array.from({ length: 300 }, (_, i) => i + 1),
      );
    } finally {
      await e.shutdown();
    }
  });

  it('map returns 40 results in order', async () => {
    const xs = Array.from({ length: 40 }, (_, i) => i);
    const out: number[] = [];
    for await (const y of executor.map(add, xs, xs)) out.push(y);
    assert.deepEqual(
      out,
      xs.map((x) => 2 * x),
    );
  });

  it('instances of exported classes cross both ways as their class', async () => {
    const p = new Point();
    p.x = 3;
    p.y = -4;
    const q = await within(20_000, executor.submit(mirror, p).result(), 'mirror');
    assert.ok(q instanceof Point);
    assert.equal(q.norm1(), 7);
    assert.deepEqual([q.x, q.y], [-3, 4]);
  });

  it("a task's error comes back as its class, message and the worker's stack", async () => {
    const f = executor.submit(fails, 'out of range');
    const err = await within(20_000, f.exception(), 'the exception');
    assert.ok(err instanceof RangeError, String(err));
    assert.equal(err.message, 'out of range');
    assert.match(String(err.stack), /cluster-targets\.ts/);
    await assert.rejects(f.result(), RangeError);
  });

  it("a user's unexported error class named like threadkit's arrives as a plain Error with its name and fields, not threadkit's class", async () => {
    const err = (await within(20_000, executor.submit(throwHiddenStaleFence).exception(), 'the exception')) as Error & { mine?: string };
    assert.equal(err instanceof StaleFenceError, false, "rebuilt as threadkit's StaleFenceError by its name");
    assert.equal(Object.getPrototypeOf(err), Error.prototype);
    assert.equal(err.name, 'StaleFenceError');
    assert.equal(err.message, 'my own app error, not a threadkit fence');
    assert.equal(err.mine, 'yes');
    assert.match(String(err.stack), /cluster-errors\.ts/);
  });

  it("a user's exported error class named like threadkit's arrives as that very class", async () => {
    const err = await within(20_000, executor.submit(throwOwnLeaseLost).exception(), 'the exception');
    assert.ok(err instanceof OwnLeaseLostError, String(err));
    assert.equal(err instanceof LeaseLostError, false);
    assert.equal((err as OwnLeaseLostError).mine, true);
  });

  it("a user's error named UnrecoverableError with 'cancelled' in its message is not a CancelledError", async () => {
    const err = (await within(20_000, executor.submit(throwUnrecoverable).exception(), 'the exception')) as Error;
    assert.equal(err instanceof CancelledError, false, String(err));
    assert.equal(err.name, 'UnrecoverableError');
    assert.equal(err.message, 'the order was cancelled by the customer');
  });

  it("threadkit/redis's own errors keep their class and fields, thrown or nested in a result", async () => {
    const err = await within(20_000, executor.submit(throwThreadkitStaleFence).exception(), 'the exception');
    assert.ok(err instanceof StaleFenceError, String(err));
    assert.deepEqual([err.fence, err.currentFence, err.code, err.message], [3, 5, 'TK_STALE_FENCE', 'a real threadkit fence refusal']);
    const { list } = await within(20_000, executor.submit(returnsErrors).result(), 'the result');
    assert.ok(list[0]!.cause instanceof StaleFenceError);
    assert.equal((list[0]!.cause as StaleFenceError).currentFence, 2);
    assert.equal(list[1] instanceof StaleFenceError, false);
    assert.equal(list[1]!.name, 'StaleFenceError');
  });

  it('retries a task that throws, with backoff, until an attempt succeeds', async () => {
    const retrying = new ClusterExecutor({ redis: server.url, queue: QUEUE, retries: 2, backoffMs: 150 });
    try {
      const t0 = performance.now();
      const key = `flaky:${process.pid}`;
      assert.equal(await within(20_000, retrying.submit(flaky, server.url, key, 2).result(), 'flaky'), 3);
      assert.ok(performance.now() - t0 >= 150 + 300, 'the retries did not back off');
      const noRetry = executor.submit(flaky, server.url, `${key}:once`, 1);
      await assert.rejects(within(20_000, noRetry.result(), 'flaky once'), /attempt 1 fails/);
    } finally {
      await retrying.shutdown();
    }
  });

  it('asCompleted and wait from threadkit work on cluster futures', async () => {
    const fs = [1, 2, 3, 4].map((x) => executor.submit(add, x, 10));
    const seen: number[] = [];
    for await (const f of asCompleted(fs, 20_000)) seen.push(await f.result());
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      [11, 12, 13, 14],
    );
    const { done, notDone } = await wait([executor.submit(add, 1, 1)], { timeoutMs: 20_000 });
    assert.equal(done.size, 1);
    assert.equal(notDone.size, 0);
  });

  it('refuses at once what cannot cross: an unexported target, shared memory in the arguments', () => {
    assert.throws(() => executor.submit(notExported), TargetNotFoundError);
    assert.throws(
      () => executor.submit(add as (a: unknown, b: number) => number, { lock: new Lock() }, 1),
      (err: unknown) => err instanceof NotCloneableError && err.path === 'args[0].lock',
    );
  });

  it('after shutdown, submit throws and the executor holds no connection', async () => {
    const e = new ClusterExecutor({ redis: server.url, queue: QUEUE });
    const f = e.submit(add, 1, 2);
    await e.shutdown();
    assert.equal(f.done(), true);
    assert.equal(await f.result(), 3);
    assert.throws(() => e.submit(add, 1, 2), /after shutdown/);
  });
});
