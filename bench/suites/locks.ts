/**
 * locks: threadkit's `Lock` against async-mutex, await-lock and async-lock on the main thread,
 * against raw Atomics in worker threads (uncontended, ping-pong hand-off, contention), and the
 * seed's locked bank program against CPython.
 */
import { existsSync } from 'node:fs';
import { Mutex } from 'async-mutex';
import AwaitLock from 'await-lock';
import AsyncLock from 'async-lock';
import { COMPILE_CACHE_ENV, BENCH_DIR, NODE, REPO_DIR, check, loadThreadkit, pythonExecutable, run } from '../lib/exec.ts';
import { Section, parseOptions, progress } from '../lib/report.ts';
import { median, ms, ns, ratio } from '../lib/stats.ts';
import {
  atomicsContention,
  atomicsPingPong,
  atomicsSyncLoop,
  lockContention,
  lockPingPong,
  lockSyncLoop,
  type ContentionReport,
  type SyncLock,
} from '../targets.ts';

const opts = parseOptions();
const tk = await loadThreadkit();
const section = new Section('locks', 'Lock acquire/release costs. Ratio: threadkit ÷ peer (below 1× threadkit is faster).');

type LockInstance = SyncLock & { acquire(): Promise<boolean>; tryAcquire(): boolean };
const Lock = (tk as unknown as { Lock?: new () => LockInstance }).Lock;
if (!Lock) {
  section.skip('every lock benchmark', '`Lock` is not exported by threadkit yet (src/sync is in progress).');
  section.print();
  process.exit(0);
}

const PER_BATCH = opts.quick ? 20_000 : 100_000;
const BATCHES = opts.quick ? 3 : 7;

/** ns per op of `body`, median over batches, after one warm-up batch. */
async function asyncOps(body: () => Promise<unknown>): Promise<number> {
  const out: number[] = [];
  for (let b = -1; b < BATCHES; b++) {
    const t0 = performance.now();
    for (let i = 0; i < PER_BATCH; i++) await body();
    if (b >= 0) out.push(((performance.now() - t0) * 1e6) / PER_BATCH);
  }
  return median(out);
}

// --- 1. Uncontended, async, main thread -------------------------------------------------------
progress(`uncontended async: ${BATCHES} × ${PER_BATCH} per lock`);
await section.attempt('uncontended async', async () => {
  const lock = new Lock();
  const mutex = new Mutex();
  const awaitLock = new AwaitLock();
  const asyncLock = new AsyncLock();
  const tkNs = await asyncOps(async () => {
    await lock.acquire();
    lock.release();
  });
  const peers: Array<[string, () => Promise<unknown>]> = [
    ['async-mutex `runExclusive`', () => mutex.runExclusive(() => {})],
    [
      'async-mutex `acquire()` + release',
      async () => {
        const release = await mutex.acquire();
        release();
      },
    ],
    [
      'await-lock `acquireAsync()` + `release()`',
      async () => {
        await awaitLock.acquireAsync();
        awaitLock.release();
      },
    ],
    ['async-lock `acquire(key, fn)`', () => asyncLock.acquire('k', () => {})],
    ['an empty `await` (the floor)', async () => {}],
  ];
  const rows = [['threadkit `await lock.acquire()` + `release()`', ns(tkNs), '']];
  for (const [name, body] of peers) {
    const peerNs = await asyncOps(body);
    rows.push([name, ns(peerNs), ratio(tkNs, peerNs)]);
  }
  section.add('### Uncontended acquire + release, async, main thread').table(['', 'per acquire+release', 'threadkit ÷ peer'], rows);
});

// --- 2. Uncontended, sync, in a worker --------------------------------------------------------
progress('uncontended sync in a worker');
await section.attempt('uncontended sync in a worker', async () => {
  const runLoop = async (t: InstanceType<typeof tk.Thread>) => {
    t.start();
    await t.join();
    if (t.exitCode !== 0) throw t.error;
    return median(t.result as number[]);
  };
  const tkNs = await runLoop(new tk.Thread({ target: lockSyncLoop, args: [new Lock(), PER_BATCH, BATCHES] }));
  const rawNs = await runLoop(new tk.Thread({ target: atomicsSyncLoop, args: [new SharedArrayBuffer(4), PER_BATCH, BATCHES] }));
  section.add('### Uncontended acquire + release, blocking, in a worker thread').table(
    ['', 'per acquire+release', 'threadkit ÷ peer'],
    [
      ['threadkit `acquireSync()` + `release()`', ns(tkNs), ''],
      ['raw `Atomics.compareExchange` pair (the floor)', ns(rawNs), ratio(tkNs, rawNs)],
    ],
  );
});

/** Starts two Threads at once (each blocks its own worker) and returns both results. */
async function pair<T>(a: InstanceType<typeof tk.Thread>, b: InstanceType<typeof tk.Thread>): Promise<[T, T]> {
  a.start();
  b.start();
  await Promise.all([a.join(), b.join()]);
  for (const t of [a, b]) if (t.exitCode !== 0) throw t.error;
  return [a.result as T, b.result as T];
}

// --- 3. Contended hand-off: ping-pong between two threads --------------------------------------
const ROUNDS = opts.quick ? 20_000 : 100_000;
progress(`ping-pong: ${ROUNDS} rounds per lock`);
await section.attempt('ping-pong', async () => {
  const handOffNs = (wallMs: number) => (wallMs * 1e6) / (2 * ROUNDS);
  const ping = new Lock();
  const pong = new Lock();
  ping.tryAcquire();
  pong.tryAcquire();
  let gate = new SharedArrayBuffer(4);
  const [tkMs] = await pair<number>(
    new tk.Thread({ target: lockPingPong, args: ['ping', ping, pong, gate, ROUNDS] }),
    new tk.Thread({ target: lockPingPong, args: ['pong', ping, pong, gate, ROUNDS] }),
  );
  const rows = [['threadkit `Lock` (two, as binary semaphores)', ns(handOffNs(tkMs)), '']];
  for (const mode of ['park', 'spin'] as const) {
    const turn = new SharedArrayBuffer(4);
    gate = new SharedArrayBuffer(4);
    const [rawMs] = await pair<number>(
      new tk.Thread({ target: atomicsPingPong, args: ['ping', mode, turn, gate, ROUNDS] }),
      new tk.Thread({ target: atomicsPingPong, args: ['pong', mode, turn, gate, ROUNDS] }),
    );
    const name = mode === 'park' ? 'raw `Atomics.wait`/`notify` on one word' : 'raw busy-wait on one word (`Atomics.pause`)';
    rows.push([name, ns(handOffNs(rawMs)), ratio(tkMs, rawMs)]);
  }
  section
    .add(`### Contended hand-off: ping-pong between two worker threads (${ROUNDS} rounds, 2 hand-offs each)`)
    .table(['', 'per hand-off', 'threadkit ÷ peer'], rows);
});

// --- 4. Contention: owner switches and the longest wait ---------------------------------------
const ACQUISITIONS = opts.quick ? 20_000 : 200_000;
progress(`contention: 2 workers × ${ACQUISITIONS} acquisitions per lock`);
await section.attempt('contention', async () => {
  const contest = async (make: (me: number, stats: SharedArrayBuffer, gate: SharedArrayBuffer) => InstanceType<typeof tk.Thread>) => {
    const stats = new SharedArrayBuffer(8);
    const gate = new SharedArrayBuffer(4);
    const [a, b] = await pair<ContentionReport>(make(0, stats, gate), make(1, stats, gate));
    return { wallMs: Math.max(a.wallMs, b.wallMs), maxWaitMs: Math.max(a.maxWaitMs, b.maxWaitMs), switches: new Int32Array(stats)[1]! };
  };
  const lock = new Lock();
  const cases: Array<[string, Awaited<ReturnType<typeof contest>>]> = [];
  cases.push([
    'threadkit `Lock` (`acquireSync`)',
    await contest((me, s, g) => new tk.Thread({ target: lockContention, args: [me, lock, s, g, ACQUISITIONS] })),
  ]);
  for (const mode of ['futex', 'spin'] as const) {
    const word = new SharedArrayBuffer(4);
    const name = mode === 'futex' ? 'raw futex mutex (Drepper, `Atomics.wait`)' : 'raw spin lock (`compareExchange` + `Atomics.pause`)';
    cases.push([name, await contest((me, s, g) => new tk.Thread({ target: atomicsContention, args: [me, mode, word, s, g, ACQUISITIONS] }))]);
  }
  const total = 2 * ACQUISITIONS;
  const tkCase = cases[0]![1];
  section.add(`### Contention: 2 worker threads × ${ACQUISITIONS} acquisitions, empty critical section`).table(
    ['', 'per acquisition', 'owner switches', 'longest wait', 'threadkit ÷ peer (time)'],
    cases.map(([name, c], i) => [name, ns((c.wallMs * 1e6) / total), String(c.switches), ms(c.maxWaitMs), i === 0 ? '' : ratio(tkCase.wallMs, c.wallMs)]),
  );
});

// --- 5. The seed's locked bank: 100 threads deposit ￥1 each, 10 ms inside the lock -------------
const BANK_REPS = opts.quick ? 1 : 3;
const bankTs = `${REPO_DIR}/examples/bank-lock.ts`;
if (!existsSync(bankTs)) {
  section.skip('bank', 'examples/bank-lock.ts does not exist yet.');
} else {
  progress(`bank: ${BANK_REPS} run(s) each of examples/bank-lock.ts and bench/python/bank_lock.py`);
  const wall = async (command: string, args: string[], what: string, env?: NodeJS.ProcessEnv) => {
    const out: number[] = [];
    for (let i = 0; i < BANK_REPS; i++) {
      const r = check(await run(command, args, { timeoutMs: 60_000, env }), what);
      if (!r.stdout.includes('￥100元')) throw new Error(`${what} printed a wrong balance: ${r.stdout.trim()}`);
      out.push(r.wallMs);
    }
    return median(out);
  };
  try {
    const tkMs = await wall(NODE, [bankTs], 'examples/bank-lock.ts');
    // Filled by one run first, as a user's cache is by the run before.
    check(await run(NODE, [bankTs], { timeoutMs: 60_000, env: COMPILE_CACHE_ENV }), 'examples/bank-lock.ts, filling the compile cache');
    const cachedMs = await wall(NODE, [bankTs], 'examples/bank-lock.ts with NODE_COMPILE_CACHE', COMPILE_CACHE_ENV);
    // Node's floor: one raw Worker makes the 100 deposits under a promise-chain lock (no threadkit).
    const floorMs = await wall(NODE, [`${BENCH_DIR}/programs/raw-worker-bank.ts`], 'programs/raw-worker-bank.ts');
    const rows = [
      ['threadkit (`node examples/bank-lock.ts`)', ms(tkMs), ''],
      ["threadkit, Node's compile cache on (`NODE_COMPILE_CACHE`)", ms(cachedMs), ''],
      ["one raw `Worker` makes the 100 deposits, a `.ts` main (Node's floor, programs/raw-worker-bank.ts)", ms(floorMs), ''],
    ];
    try {
      const pyMs = await wall(pythonExecutable(), [`${BENCH_DIR}/python/bank_lock.py`], 'bank_lock.py');
      rows[0]![2] = ratio(tkMs, pyMs);
      rows[1]![2] = ratio(cachedMs, pyMs);
      rows[2]![2] = ratio(floorMs, pyMs);
      rows.push(['CPython (`python3 bench/python/bank_lock.py`)', ms(pyMs), '']);
    } catch (err) {
      section.skip('bank on CPython', (err as Error).message);
    }
    section
      .add(`### Bank: the seed's 100 threads × ￥1 under a Lock (≥ 1 s of serialized 10 ms sleeps), wall time, median of ${BANK_REPS}`)
      .table(['', 'wall time', 'row ÷ CPython'], rows)
      .add(`threadkit ÷ Node's floor: ${ratio(tkMs, floorMs)}.`);
  } catch (err) {
    section.skip('bank', (err as Error).message);
  }
}
section.finish();
