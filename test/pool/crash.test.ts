// A worker that dies takes only its own tasks with it; the pool replaces it and goes on.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Pool, ProcessPoolExecutor, ThreadPoolExecutor, WorkerDiedError } from 'threadkit';
import { available as shmAvailable } from '../../dist/internal/for-tests.js';
import { exitWith, inc, killSelf, sleepThen } from '../fixtures/pool-targets.ts';
import { bigNoted, type Death, noteThenMaybeDie, outcomeOf } from './crash-targets.ts';
import { assertNoLeaks, KINDS, range, rejection, within } from './helpers.ts';

const logs = mkdtempSync(join(tmpdir(), 'threadkit-crash-'));
after(() => rmSync(logs, { recursive: true, force: true }));

for (const kind of KINDS) {
  describe(`a worker that dies (${kind})`, () => {
    it('rejects the task that called process.exit with WorkerDiedError, and every other task succeeds', async () => {
      const pool = new Pool({ processes: 2, kind });
      const crash = pool.applyAsync(exitWith, [3]);
      const others = range(20).map((i) => pool.applyAsync(sleepThen, [5, i]));
      const err = await rejection(crash.result());
      assert.ok(err instanceof WorkerDiedError, String(err));
      assert.equal(err.code, 'TK_WORKER_DIED');
      assert.match(err.message, /code 3/);
      assert.deepEqual(await within(20_000, Promise.all(others.map((f) => f.result()))), range(20));
      assert.deepEqual(await within(20_000, pool.map(inc, range(100))), range(100, 1), 'the healed pool runs more work');
      assert.ok(pool.stats().started >= 3, 'a replacement worker was started');
      await within(10_000, pool.terminate());
      await assertNoLeaks(pool);
    });

    if (kind === 'process') {
      it('rejects the task whose process was killed with SIGKILL, and the pool goes on', async () => {
        const pool = new Pool({ processes: 2, kind });
        const err = await rejection(pool.apply(killSelf, []));
        assert.ok(err instanceof WorkerDiedError);
        assert.match(err.message, /SIGKILL/);
        assert.equal(await within(20_000, pool.apply(inc, [1])), 2);
        await within(10_000, pool.terminate());
        await assertNoLeaks(pool);
      });
    }

    it('fails only the task it was in: the tasks it held but had not started run on its replacement, and those it had finished keep their results (20 rounds)', async () => {
      const deaths: Death[] = kind === 'process' ? ['sigkill', 'exit', 'exit-after-await'] : ['exit', 'exit-after-await'];
      // A child process keeps its journal in /dev/shm: without the addon a dying one fails every
      // task of its batch it had not reported, saying that it may have run.
      const journal = kind === 'thread' || shmAvailable;
      const ex = new (kind === 'process' ? ProcessPoolExecutor : ThreadPoolExecutor)({ maxWorkers: 1 });
      // Measured as tiny (what the pool learns is per function), the tasks then travel in batches of several.
      const warmLog = join(logs, `${kind}-warm`);
      await within(
        20_000,
        Promise.all(
          range(200).map((i) =>
            ex
              .submit(noteThenMaybeDie, i, -1, 'exit', warmLog)
              .result()
              .catch(() => {}),
          ),
        ),
      );
      for (let round = 0; round < 20; round++) {
        const doomed = (round * 3) % 10;
        const death = deaths[round % deaths.length]!;
        const log = join(logs, `${kind}-${round}`);
        const futures = range(10).map((i) => ex.submit(noteThenMaybeDie, i, doomed, death, log));
        const settled = await within(20_000, Promise.allSettled(futures.map((f) => f.result())), `round ${round}`);
        const context = `round ${round}: task ${doomed} died by ${death}`;
        // Each task's outcome: its value, its error's name and message, or that its worker died.
        const outcome = (s: PromiseSettledResult<unknown>) =>
          s.status === 'fulfilled' ? { value: s.value } : s.reason instanceof WorkerDiedError ? 'died' : { error: `${s.reason?.name}: ${s.reason?.message}` };
        const expected = range(10).map((i) => {
          if (i === doomed) return 'died';
          try {
            return outcome({ status: 'fulfilled', value: outcomeOf(i) });
          } catch (reason) {
            return outcome({ status: 'rejected', reason });
          }
        });
        const got = settled.map((s, i) =>
          !journal && i !== doomed && s.status === 'rejected' && /before it reported the task, which may have run/.test(s.reason?.message)
            ? expected[i]
            : outcome(s),
        );
        assert.deepEqual(got, expected, context);
        assert.match(
          (settled[doomed] as PromiseRejectedResult).reason.message,
          journal
            ? /running task \d+ died: the worker (process|thread) (was killed by SIGKILL|exited with code 9)/
            : /task \d+ died before it reported the task, which may have run: the worker process (was killed by SIGKILL|exited with code 9)/,
          context,
        );
        // Each of the others ran exactly once: none was run again on the replacement, none lost.
        const ran = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map(Number) : [];
        if (journal)
          assert.deepEqual(
            ran.sort((a, b) => a - b),
            range(10).filter((i) => i !== doomed),
            context,
          );
        else assert.equal(new Set(ran).size, ran.length, `${context}: a task ran twice: ${ran}`);
      }
      await within(10_000, ex.shutdown());
      await assertNoLeaks(ex);
    });
  });
}

// A child posts a batch's results and clears its journal; a large result is still being written
// out when the next task kills the child. That task had finished: it must fail saying so, never
// go back to the queue and run again (it did, on the replacement, before the pool knew the order).
it('a process worker that dies with a large result still on its way: that task fails saying it ran, and runs once', {
  timeout: 60_000,
  skip: shmAvailable ? false : 'needs the native addon (/dev/shm) for the journal',
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tk-lost-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'ran.log');
  const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
  // Both functions measured as tiny (what the pool learns is per function), so that the next two go in one batch to the same worker.
  const warmLog = join(dir, 'warm.log');
  await within(20_000, Promise.all(range(20).map((i) => ex.submit(bigNoted, i, warmLog, 1).result())));
  await within(
    20_000,
    Promise.all(
      range(20).map((i) =>
        ex
          .submit(noteThenMaybeDie, i, -1, 'exit', warmLog)
          .result()
          .catch(() => {}),
      ),
    ),
  );
  const big = ex.submit(bigNoted, 1, log);
  const doomed = ex.submit(noteThenMaybeDie, 0, 0, 'exit', log);
  // This thread reads nothing meanwhile, so the child's 8 MB sit in its send queue when it exits.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const until = Date.now() + 1500;
  while (Date.now() < until);
  const [b, d] = await within(20_000, Promise.allSettled([big.result(), doomed.result()]));
  assert.equal(d.status, 'rejected');
  assert.ok((d as PromiseRejectedResult).reason instanceof WorkerDiedError);
  if (b.status === 'rejected') {
    // The usual case: the result was lost with the worker.
    assert.ok(b.reason instanceof WorkerDiedError, String(b.reason));
    assert.match(b.reason.message, /task \d+ died before the task's result reached the pool \(the task ran\)/);
  } else assert.equal(b.value.length, 8_000_000, 'or it came through whole');
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['1'], 'it ran once, never again on the replacement');
  await within(10_000, ex.shutdown());
  await assertNoLeaks(ex);
});
