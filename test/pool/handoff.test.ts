// The hand-off slot (src/pool/handoff.ts): a lone task, or its result, passed through shared
// memory while the other side watches. First its protocol, both sides played by this thread over
// one buffer, then every kind of pool through it: values come back exact, whatever way each task
// and result travelled, and a caller that awaits one task at a time does not starve its event loop.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Pool, ProcessPoolExecutor, ThreadPoolExecutor, WorkerDiedError } from 'threadkit';
import { available as shmAvailable, handedOff, Handoff, HANDOFF_BYTES } from '../../dist/internal/for-tests.js';
import { add, blockFor, echo, exitWith, fail, identity, loopTurns, sleepThen, whoAfter } from '../fixtures/pool-targets.ts';
import { assertNoLeaks, rejection, within } from './helpers.ts';

// Mode and Status of src/pool/worker-messages.ts.
const CALL = 0;
const MAP = 1;
const ENCODED = 4;
const ONE = 8;
const OK = 0;
const ERROR = 1;
const RESULT_BELL = 1;

/** The pool's view and the worker's view of one slot. */
function slot(): { pool: Handoff; worker: Handoff } {
  const buffer = new SharedArrayBuffer(HANDOFF_BYTES);
  return { pool: new Handoff(buffer, 0), worker: new Handoff(buffer, 0) };
}

/** The worker watches; while it does, `post` runs once (as the pool would, from another thread). */
function watchWhile(worker: Handoff, post: () => void): unknown[] | undefined {
  let posted = false;
  return worker.nextTask(() => {
    if (!posted) {
      posted = true;
      post();
    }
    return false;
  });
}

const PRIMITIVES: unknown[] = [
  0,
  -0,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.MIN_VALUE,
  2 ** 53 + 2,
  '',
  'plain',
  'naïve ☃ 😀',
  '\ud800 a lone surrogate',
  'x'.repeat(200),
  true,
  false,
  null,
  undefined,
];

describe('hand-off slot protocol', () => {
  it('passes no task to a worker that is not watching, and leaves the slot usable', () => {
    const { pool, worker } = slot();
    assert.equal(pool.offerTask(1, 0, CALL | ONE, 5), false);
    const b = watchWhile(worker, () => assert.equal(pool.offerTask(2, 0, CALL | ONE, 6), true));
    assert.deepEqual(b, [2, 0, CALL | ONE, 6]);
  });

  it('passes every primitive, as one argument or several, exactly as it was', () => {
    const { pool, worker } = slot();
    for (const v of PRIMITIVES) {
      const b = watchWhile(worker, () => assert.equal(pool.offerTask(7, 3, CALL | ONE, v), true, `offer ${String(v)}`));
      assert.equal(b?.length, 4);
      assert.deepEqual(b.slice(0, 3), [7, 3, CALL | ONE]);
      assert.ok(Object.is(b[3], v), `got ${String(b[3])} for ${String(v)}`);
    }
    const args = [1, 'two', null, undefined, true, -0];
    const b = watchWhile(worker, () => assert.equal(pool.offerTask(8, 1, CALL, args), true));
    assert.equal((b![3] as unknown[]).length, args.length);
    for (const [i, v] of (b![3] as unknown[]).entries()) assert.ok(Object.is(v, args[i]), `argument ${i}`);
  });

  it('refuses what does not fit or is not a primitive, posts nothing, and takes the next task', () => {
    const { pool, worker } = slot();
    for (const [mode, payload] of [
      [CALL | ONE, 'x'.repeat(300)],
      [CALL | ONE, 10n],
      [CALL, [{ a: 1 }]],
      [CALL, Array.from({ length: 40 }, (_, i) => i)],
      [MAP, [1, 2]],
      [CALL | ENCODED, { encoded: true }],
    ] as const) {
      let refused: boolean | undefined;
      const started = performance.now();
      const b = watchWhile(worker, () => (refused = !pool.offerTask(1, 0, mode, payload)));
      assert.equal(refused, true, `offered mode ${mode}`);
      assert.equal(b, undefined, 'the worker took a task that was refused');
      assert.ok(performance.now() - started >= 0.04, 'the watch ended before its time');
    }
    const b = watchWhile(worker, () => assert.equal(pool.offerTask(9, 0, CALL | ONE, 'ok'), true));
    assert.deepEqual(b, [9, 0, CALL | ONE, 'ok']);
  });

  it('a watch interrupted by a message closes the task area: a later offer fails', () => {
    const { pool, worker } = slot();
    assert.equal(
      worker.nextTask(() => true),
      undefined,
    );
    assert.equal(pool.offerTask(1, 0, CALL | ONE, 1), false);
  });

  it('passes a result only into an open area, and only once the pool has read every earlier results message', () => {
    const { pool, worker } = slot();
    assert.equal(worker.offerResult([1, OK, 'early'], 5), false, 'posted into a closed area');
    pool.openResults();
    worker.resultsSent(); // a results message is on its way, and the pool has not read it
    assert.equal(worker.offerResult([1, OK, 'ahead'], 5), false, 'posted ahead of an unread results message');
    pool.resultsRead();
    assert.equal(worker.offerResult([1, OK, 'x'], 5), true);
    assert.equal(pool.awaitResult(10, 1), 'slot');
    assert.deepEqual(pool.taken, { r: [1, OK, 'x'], us: 5 });
    // Closed again: the next result goes as a message.
    assert.equal(worker.offerResult([2, OK, 'late'], 5), false);
    assert.equal(pool.closeResults(), false);
  });

  it('opening an area that holds a result keeps the result (a second batch sent before the first was answered)', () => {
    const { pool, worker } = slot();
    pool.openResults();
    assert.equal(worker.offerResult([1, OK, 'first'], 1), true);
    pool.openResults();
    assert.equal(worker.offerResult([2, OK, 'second'], 1), false, 'posted over an unread result');
    assert.equal(pool.closeResults(), true);
    assert.deepEqual(pool.taken.r, [1, OK, 'first']);
  });

  it('passes every primitive result exactly, and refuses errors, objects, batches and oversized values', () => {
    const { pool, worker } = slot();
    for (const v of PRIMITIVES) {
      pool.openResults();
      assert.equal(worker.offerResult([3, OK, v], 1), true);
      assert.equal(pool.closeResults(), true);
      assert.ok(Object.is(pool.taken.r[2], v), `got ${String(pool.taken.r[2])} for ${String(v)}`);
    }
    for (const r of [
      [3, ERROR, 'boom'],
      [3, OK, { a: 1 }],
      [3, OK, 1, 4, OK, 2],
      [3, OK, 'y'.repeat(300)],
      [3, OK, 1n],
    ]) {
      pool.openResults();
      assert.equal(worker.offerResult(r, 1), false, `posted ${String(r)}`);
      assert.equal(pool.closeResults(), false);
    }
  });

  it('a watch for the result ends at its ring, or at its deadline with nothing posted', () => {
    const { pool } = slot();
    pool.openResults();
    Atomics.add(pool.cells as Int32Array<SharedArrayBuffer>, RESULT_BELL, 1);
    assert.equal(pool.awaitResult(1000, 0), 'rang');
    pool.openResults();
    const started = performance.now();
    assert.equal(pool.awaitResult(5, 1), 'missed');
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 5 && elapsed < 1000, `watched for ${elapsed} ms`);
    // Closed by the watch: nothing can be posted into it any more.
    assert.equal(pool.closeResults(), false);
  });
});

const PRIMITIVE = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 400 }),
  fc.boolean(),
  fc.constantFrom(null, undefined, -0),
);

/** One call of a random sequence, with what it must give. */
type Call = { run: (ex: ThreadPoolExecutor | ProcessPoolExecutor) => Promise<unknown>; check: (outcome: { ok: boolean; value: unknown }) => void };

const CALL_ARB: fc.Arbitrary<Call> = fc.oneof(
  PRIMITIVE.map(
    (v): Call => ({
      run: (ex) => ex.submit(identity, v).result(),
      check: (o) => assert.ok(o.ok && Object.is(o.value, v), `identity(${String(v)}) gave ${String(o.value)}`),
    }),
  ),
  fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1000, max: 1000 })).map(
    ([a, b]): Call => ({
      run: (ex) => ex.submit(add, a, b).result(),
      check: (o) => assert.deepEqual(o, { ok: true, value: a + b }),
    }),
  ),
  fc.tuple(PRIMITIVE, PRIMITIVE).map(
    ([a, b]): Call => ({
      run: (ex) => ex.submit(echo, a, b).result(),
      check: (o) => assert.ok(o.ok && Object.is((o.value as unknown[])[0], a) && Object.is((o.value as unknown[])[1], b), 'echo'),
    }),
  ),
  fc.string({ maxLength: 10 }).map(
    (s): Call => ({
      run: (ex) => ex.submit(sleepThen, 1, s).result(),
      check: (o) => assert.deepEqual(o, { ok: true, value: s }),
    }),
  ),
  fc.string({ maxLength: 10 }).map(
    (s): Call => ({
      run: (ex) => ex.submit(fail, s).result(),
      check: (o) => assert.ok(!o.ok && (o.value as Error).message === s, 'fail'),
    }),
  ),
  fc.constant<Call>({
    run: (ex) => ex.submit(identity, 'z'.repeat(5000)).result(),
    check: (o) => assert.deepEqual(o, { ok: true, value: 'z'.repeat(5000) }),
  }),
);

const settle = (p: Promise<unknown>) =>
  p.then(
    (value) => ({ ok: true, value }),
    (value: unknown) => ({ ok: false, value }),
  );

for (const Executor of [ThreadPoolExecutor, ProcessPoolExecutor]) {
  describe(`${Executor.name} through hand-off slots`, () => {
    it('gives back every primitive exactly, one task at a time, and passes some of them through the slot', { timeout: 120_000 }, async () => {
      const ex = new Executor({ maxWorkers: 2, minWorkers: 2 });
      for (let i = 0; i < 200; i++) await within(20_000, ex.submit(identity, i).result());
      const before = { ...handedOff };
      await fc.assert(
        fc.asyncProperty(PRIMITIVE, async (v) => {
          const got = await within(20_000, ex.submit(identity, v).result());
          assert.ok(Object.is(got, v), `sent ${String(v)}, got ${String(got)}`);
        }),
        { numRuns: 2000 },
      );
      // Timing decides which way each one goes; over 2000, some go through the slot. A child
      // process has one only with /dev/shm (the native addon); without, all go as messages.
      if (Executor === ThreadPoolExecutor || shmAvailable) {
        assert.ok(handedOff.tasks > before.tasks, 'no task went through a slot');
        assert.ok(handedOff.results > before.results, 'no result came through a slot');
      } else assert.deepEqual(handedOff, before, 'a child without /dev/shm has no slot');
      await within(10_000, ex.shutdown());
      await assertNoLeaks(ex);
    });

    it('mixes slot and message hand-offs, one at a time and a few at once, and every task gets its own result', { timeout: 120_000 }, async () => {
      const ex = new Executor({ maxWorkers: 2, minWorkers: 1 });
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(CALL_ARB, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 30 }), async (groups) => {
          for (const group of groups) {
            const outcomes = await within(20_000, Promise.all(group.map((c) => settle(c.run(ex)))));
            for (const [i, c] of group.entries()) c.check(outcomes[i]!);
          }
        }),
        { numRuns: 40 },
      );
      await within(10_000, ex.shutdown());
      await assertNoLeaks(ex);
    });

    it('lets its event loop turn while a caller awaits one task after another', { timeout: 120_000 }, async () => {
      const ex = new Executor({ maxWorkers: 1, minWorkers: 1 });
      for (let i = 0; i < 200; i++) await within(20_000, ex.submit(identity, i).result());
      const N = 5000;
      let done = 0;
      let timerAt = -1;
      let immediates = 0;
      // Results taken from the slot between two turns of the loop: at most MAX_HANDOFFS_PER_TURN (64).
      let streak = 0;
      let seen = handedOff.results;
      setTimeout(() => (timerAt = done), 1);
      const tick = () => {
        immediates++;
        streak = Math.max(streak, handedOff.results - seen);
        seen = handedOff.results;
        if (done < N) setImmediate(tick);
      };
      setImmediate(tick);
      for (; done < N; done++) assert.equal(await ex.submit(identity, done).result(), done);
      // Each of 5000 round trips takes microseconds: a timer due after 1 ms fires before the end.
      assert.ok(timerAt >= 0 && timerAt < N, `the 1 ms timer fired after ${timerAt} of ${N} tasks`);
      assert.ok(immediates > 1, `the event loop turned ${immediates} times during ${N} tasks`);
      assert.ok(streak <= 65, `${streak} results came through the slot between two turns of the event loop`);
      await within(10_000, ex.shutdown());
      await assertNoLeaks(ex);
    });

    it('a worker that dies on a task taken one at a time fails that task only, and the next ones run', { timeout: 60_000 }, async () => {
      const ex = new Executor({ maxWorkers: 1, minWorkers: 1 });
      for (let i = 0; i < 100; i++) await within(20_000, ex.submit(identity, i).result());
      const err = await rejection(ex.submit(exitWith, 3).result());
      assert.ok(err instanceof WorkerDiedError, `got ${err}`);
      for (let i = 0; i < 100; i++) assert.equal(await within(20_000, ex.submit(identity, `after ${i}`).result()), `after ${i}`);
      await within(10_000, ex.shutdown());
      await assertNoLeaks(ex);
    });
  });
}

for (const kind of ['thread', 'process'] as const) {
  it(`a ${kind} pool sending one worker two batches in one go loses no result`, { timeout: 120_000 }, async () => {
    // With the second worker busy, each pair of tasks goes to the first: as one batch of two now
    // that nothing queues behind a worker busy with a long task (batching.ts), or, when the other
    // worker is busy with tiny tasks only, as two batches of one (the dispatcher's two passes):
    // the second must not reopen, and so empty, the result area the first may already have been
    // answered in (handoff.test.ts's 'opening an area that holds a result' checks that at the slot).
    const pool = new Pool({ processes: 2, kind });
    for (let i = 0; i < 200; i++) await within(20_000, pool.apply(identity, [i]));
    // Both workers ready (two tasks at once ran on two workers): else, under load, the one
    // still booting leaves the other to take `first` and the blocker in one batch.
    for (let tries = 0; new Set(await within(20_000, Promise.all([pool.apply(whoAfter, [20]), pool.apply(whoAfter, [20])]))).size < 2; tries++) {
      assert.ok(tries < 100, 'two tasks at once never ran on two workers');
    }
    const first = pool.applyAsync(identity, ['first']);
    const busy = pool.applyAsync(blockFor, [60_000]);
    await within(20_000, first.result());
    for (let i = 0; i < 1000; i++) {
      const pair = await within(20_000, Promise.all([pool.apply(identity, [2 * i]), pool.apply(identity, [2 * i + 1])]));
      assert.deepEqual(pair, [2 * i, 2 * i + 1]);
    }
    assert.equal(busy.done(), false);
    await within(10_000, pool.terminate());
    await assertNoLeaks(pool);
  });

  it(`a ${kind} worker taking long tasks one at a time from its slot lets its event loop turn between them`, { timeout: 120_000 }, async () => {
    const pool = new Pool({ processes: 1, kind });
    assert.equal(await within(20_000, pool.apply(loopTurns, [])), 0);
    for (let i = 0; i < 100; i++) assert.equal(await within(20_000, pool.apply(blockFor, [5])), 5);
    // A loop that turns between tasks runs its 1 ms interval after each; one that takes tasks
    // from its slot or port 64 in a row without a turn runs it a few times in all. (Counted, not
    // timed: a loaded machine stretches the gaps, not the count.)
    const turns = await within(20_000, pool.apply(loopTurns, []));
    assert.ok(turns >= 95, `the worker's event loop ran its interval ${turns} times during 100 tasks of 5 ms`);
    await within(10_000, pool.terminate());
    await assertNoLeaks(pool);
  });
}

it('a process pool that replaces its children often hands each new child a clean slot', { timeout: 120_000 }, async () => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 1, maxTasksPerWorker: 5 });
  for (let i = 0; i < 60; i++) assert.equal(await within(20_000, ex.submit(identity, i).result()), i);
  assert.ok(ex.stats().started >= 12, `only ${ex.stats().started} children were started`);
  await within(10_000, ex.shutdown());
  await assertNoLeaks(ex);
});
