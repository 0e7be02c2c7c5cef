// Workers' lives: initializer, maxTasksPerChild, idleTimeoutMs, minWorkers, close/join, and a forgotten pool.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { InvalidArgumentError, InvalidStateError, Pool, ProcessPoolExecutor, ThreadPoolExecutor, WorkerDiedError } from 'threadkit';
import { breakSetUp, inc, initializedValue, setUp, sleepThen, whereAmI } from '../fixtures/pool-targets.ts';
import { assertNoLeaks, KINDS, range, rejection, within } from './helpers.ts';

const FORGOTTEN = fileURLToPath(new URL('../fixtures/pool-forgotten.ts', import.meta.url));
const SHUTDOWN_LOOP = fileURLToPath(new URL('../fixtures/pool-shutdown-loop.ts', import.meta.url));
const CLOSE_QUEUED = fileURLToPath(new URL('../fixtures/pool-close-queued.ts', import.meta.url));
const REPLACEMENT = fileURLToPath(new URL('./replacement-program.ts', import.meta.url));

/** Runs a program with this Node; its exit code (a signal counts as 1) and output. */
function runProgram(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, args, { timeout: 50_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

for (const kind of KINDS) {
  describe(`worker lifecycle (${kind})`, () => {
    it('runs the initializer with its arguments in every worker before its tasks', async () => {
      const pool = new Pool({ processes: 2, kind, initializer: setUp, initargs: [{ ready: true }] });
      assert.deepEqual(await within(20_000, pool.starmap(initializedValue, [[], [], []])), [{ ready: true }, { ready: true }, { ready: true }]);
      await within(10_000, pool.terminate());
      await assertNoLeaks(pool);
    });

    it('breaks the pool when the initializer throws: tasks reject with WorkerDiedError caused by it', async () => {
      const pool = new Pool({ processes: 1, kind, initializer: breakSetUp });
      const err = await rejection(pool.apply(inc, [1]));
      assert.ok(err instanceof WorkerDiedError);
      assert.equal((err.cause as Error).message, 'the initializer failed');
      await within(10_000, pool.terminate());
      await assertNoLeaks(pool);
    });

    it('replaces a worker after maxTasksPerChild tasks', async () => {
      const pool = new Pool({ processes: 1, kind, maxTasksPerChild: 2 });
      const places = [];
      for (let i = 0; i < 6; i++) places.push(await within(20_000, pool.apply(whereAmI, [])));
      const ids = places.map((p) => (kind === 'process' ? p.pid : p.threadId));
      assert.equal(ids[0], ids[1]);
      assert.equal(ids[2], ids[3]);
      assert.equal(ids[4], ids[5]);
      assert.equal(new Set(ids).size, 3);
      assert.equal(pool.stats().started, 3);
      await within(10_000, pool.terminate());
      await assertNoLeaks(pool);
    });

    it('stops idle workers beyond minWorkers after idleTimeoutMs and keeps the warm minimum', async () => {
      const Executor = kind === 'thread' ? ThreadPoolExecutor : ProcessPoolExecutor;
      const ex = new Executor({ maxWorkers: 3, minWorkers: 1, idleTimeoutMs: 100 });
      assert.equal(ex.stats().workers, 1, 'the warm minimum starts with the executor');
      await within(20_000, Promise.all(range(6).map((i) => ex.submit(sleepThen, 50, i).result())));
      assert.ok(ex.stats().started > 1);
      await within(
        10_000,
        new Promise<void>((resolve) => {
          const t = setInterval(() => ex.stats().workers === 1 && (clearInterval(t), resolve()), 10);
        }),
        'idle workers to stop',
      );
      await within(10_000, ex.shutdown());
      await assertNoLeaks(ex);
    });

    it('close() refuses new tasks, join() waits for the submitted ones and the workers to exit', async () => {
      const pool = new Pool({ processes: 2, kind });
      const futures = range(8).map((i) => pool.applyAsync(sleepThen, [10, i]));
      await assert.rejects(pool.join(), InvalidStateError);
      pool.close();
      assert.throws(() => pool.applyAsync(inc, [1]), InvalidStateError);
      await within(20_000, pool.join());
      assert.deepEqual(await Promise.all(futures.map((f) => f.result(0))), range(8));
      await assertNoLeaks(pool);
    });
  });
}

describe('pool options and program exit', () => {
  it('echoes a bad option value in the error', () => {
    assert.throws(
      () => new Pool({ processes: 0 }),
      (err: Error) => err instanceof InvalidArgumentError && /got `0`/.test(err.message),
    );
    assert.throws(() => new ThreadPoolExecutor({ maxWorkers: 2, minWorkers: 3 }), InvalidArgumentError);
    assert.throws(() => new Pool({ kind: 'fiber' as never }), InvalidArgumentError);
  });

  it('lets a program end that never shuts its pools down', async () => {
    const out = await within(
      30_000,
      new Promise<string>((resolve, reject) => execFile(process.execPath, [FORGOTTEN], (err, stdout) => (err ? reject(err) : resolve(stdout)))),
      'the program with a forgotten pool',
    );
    assert.deepEqual(JSON.parse(out), [2, 3, 4, 10]);
  });

  for (const kind of KINDS) {
    it(`keeps a program open through a top-level await of terminate() and shutdown() (${kind}): it ends with code 0, not 13 (unsettled top-level await)`, async () => {
      const { code, stdout, stderr } = await within(
        60_000,
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
          execFile(process.execPath, [SHUTDOWN_LOOP, kind], { timeout: 50_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
          ),
        ),
        'the program that shuts pools down at its top level',
      );
      assert.equal(code, 0, stderr);
      // 10 rounds: 20 applies of inc(i) (sum 210) and one inc(1) (2) each.
      assert.deepEqual(JSON.parse(stdout), { sum: 10 * (210 + 2) });
    });
  }

  for (const kind of KINDS) {
    it(`runs every queued task before the program ends when close() + join(), shutdown() or shutdown({ wait: false }) comes while its workers boot (${kind})`, async () => {
      for (const api of ['pool', 'shutdown', 'nowait']) {
        const { code, stdout, stderr } = await within(60_000, runProgram([CLOSE_QUEUED, kind, api]), `the ${api} program`);
        assert.equal(code, 0, `${api}: exit code ${code}\n${stderr}`);
        assert.equal(stdout.trim(), '[0,1,2,3]', `${api}: every task ran and reported`);
      }
    });
  }

  for (const kind of KINDS) {
    it(`keeps a program open while its only worker is replaced mid-map, and the map ends with every result (${kind})`, async () => {
      // [api, tasks, workers that must have run them: a fresh one after every maxTasks]
      const cases = [
        ['pool', 6, 3],
        ['executor', 3, 3],
        ['two-maps', 4, 2],
      ] as const;
      for (const [api, tasks, workers] of cases) {
        const { code, stdout, stderr } = await within(60_000, runProgram([REPLACEMENT, kind, api]), `the ${api} program`);
        assert.equal(code, 0, `${api}: exit code ${code}\n${stderr}`);
        const ran = JSON.parse(stdout) as string[];
        assert.equal(ran.length, tasks, api);
        assert.equal(new Set(ran).size, workers, `${api}: ${stdout}`);
      }
    });
  }
});
