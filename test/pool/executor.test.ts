// ThreadPoolExecutor and ProcessPoolExecutor (Python's concurrent.futures): submit, map, errors, shutdown.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError, InvalidArgumentError, InvalidStateError, Pool, ProcessPoolExecutor, ThreadPoolExecutor } from 'threadkit';
import { add, fail, failLater, inc, sleepThen } from '../fixtures/pool-targets.ts';
import { assertNoLeaks, range, rejection, within } from './helpers.ts';

const EXECUTORS = [
  { name: 'ThreadPoolExecutor', make: (o = {}) => new ThreadPoolExecutor({ maxWorkers: 2, ...o }) },
  { name: 'ProcessPoolExecutor', make: (o = {}) => new ProcessPoolExecutor({ maxWorkers: 2, ...o }) },
];

for (const { name, make } of EXECUTORS) {
  describe(name, () => {
    it('runs submitted calls and gives each future its own result', async () => {
      const ex = make();
      const futures = range(10).map((i) => ex.submit(add, i, 100));
      assert.deepEqual(await within(20_000, Promise.all(futures.map((f) => f.result()))), range(10, 100));
      assert.ok(futures.every((f) => f.done() && !f.cancelled() && !f.running()));
      await within(10_000, ex.shutdown());
      await assertNoLeaks(ex);
    });

    it('rebuilds a thrown error with its class, message, worker stack, cause and own properties', async () => {
      const ex = make();
      const err = (await rejection(ex.submit(fail, 'it broke').result())) as TypeError & { code: string; detail: unknown; cause: Error; stack: string };
      assert.ok(err instanceof TypeError);
      assert.equal(err.message, 'it broke');
      assert.equal(err.code, 'E_FIXTURE');
      assert.deepEqual(err.detail, { answer: 42 });
      assert.ok(err.cause instanceof RangeError);
      assert.equal(err.cause.message, 'the root cause');
      assert.match(err.stack, /pool-targets\.ts/);
      const later = ex.submit(failLater, 'later');
      assert.ok((await within(20_000, later.exception())) instanceof RangeError);
      await within(10_000, ex.shutdown());
      await assertNoLeaks(ex);
    });

    it('maps over zipped iterables in order and cancels what is left when the loop stops early', async () => {
      const ex = make();
      const out: number[] = [];
      for await (const y of ex.map(add, range(6), range(6, 10))) out.push(y);
      assert.deepEqual(
        out,
        range(6).map((i) => 2 * i + 10),
      );
      const slow: string[] = [];
      for await (const y of ex.map(sleepThen, [1, 1, 1, 1], ['a', 'b', 'c', 'd'])) {
        slow.push(y);
        break;
      }
      assert.deepEqual(slow, ['a']);
      await within(10_000, ex.shutdown());
      await assertNoLeaks(ex);
    });

    it('shutdown({ cancelFutures }) cancels the queued tasks, lets the running ones finish and waits for them', async () => {
      const ex = make({ maxWorkers: 1 });
      const running = ex.submit(sleepThen, 200, 'ran');
      await within(
        20_000,
        new Promise<void>((resolve) => {
          const t = setInterval(() => running.running() && (clearInterval(t), resolve()), 2);
        }),
      );
      const queued = range(5).map((i) => ex.submit(inc, i));
      await within(10_000, ex.shutdown({ cancelFutures: true }));
      assert.equal(await running.result(0), 'ran');
      for (const f of queued) {
        assert.equal(f.cancelled(), true);
        assert.ok((await rejection(f.result())) instanceof CancelledError);
      }
      assert.throws(() => ex.submit(inc, 1), InvalidStateError);
      await assertNoLeaks(ex);
    });

    it('shutdown() without cancelFutures runs every queued task first', async () => {
      const ex = make({ maxWorkers: 1 });
      const futures = range(20).map((i) => ex.submit(sleepThen, 1, i));
      await within(20_000, ex.shutdown());
      assert.deepEqual(await Promise.all(futures.map((f) => f.result(0))), range(20));
      await assertNoLeaks(ex);
    });

    it('await using shuts the executor down at the end of the scope', async () => {
      let ex!: ThreadPoolExecutor | ProcessPoolExecutor;
      {
        await using e = make();
        ex = e;
        assert.equal(await within(20_000, e.submit(inc, 41).result()), 42);
      }
      await assertNoLeaks(ex);
    });
  });
}

describe('options', () => {
  it('a misspelt or unknown option is refused, naming it, a close known name and the known ones; nothing starts', () => {
    const cases: [() => unknown, RegExp][] = [
      [
        () => new Pool({ procesess: 2 } as never),
        /new Pool\(\): unknown option `procesess`; did you mean `processes`\? \(its options: processes, kind, maxTasksPerChild, minWorkers/,
      ],
      [() => new Pool({ maxtasksperchild: 2 } as never), /unknown option `maxtasksperchild`; did you mean `maxTasksPerChild`\?/],
      [() => new Pool({ max_tasks_per_child: 2 } as never), /did you mean `maxTasksPerChild`\?/],
      [() => new ThreadPoolExecutor({ max_workers: 2 } as never), /new ThreadPoolExecutor\(\): unknown option `max_workers`; did you mean `maxWorkers`\?/],
      [
        () => new ProcessPoolExecutor({ processes: 2 } as never),
        /new ProcessPoolExecutor\(\): unknown option `processes` \(its options: maxWorkers, maxTasksPerWorker/,
      ],
    ];
    for (const [make, message] of cases) assert.throws(make, (err: Error) => err instanceof InvalidArgumentError && message.test(err.message));
  });
});
