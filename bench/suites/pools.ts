/**
 * pools: threadkit's executors and `Pool` (thread and process kinds) against piscina, tinypool,
 * workerpool and poolifier, and against raw `postMessage` to two bare Workers (the floor):
 *
 *   1. throughput of tiny tasks (`increment`), all submitted at once, 2 workers each;
 *   2. latency of one task at a time (submit, await the result, repeat);
 *   3. speed-up of CPU-bound tasks (~20 ms each) on 2 workers against 1.
 *
 * Every pool runs the same functions from bench/targets.ts (the peers through the worker files
 * bench/fixtures/pool-*.js), and every result is checked, so no pool is timed skipping work.
 */
import { Worker } from 'node:worker_threads';
import { loadThreadkit } from '../lib/exec.ts';
import { Section, parseOptions, progress, withTimeLimit } from '../lib/report.ts';
import { median, ms, ns, ratio } from '../lib/stats.ts';
import { burn, increment } from '../targets.ts';

const opts = parseOptions();
const tk = await loadThreadkit();
const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);

const WORKERS = 2;
const TASKS = opts.quick ? 10_000 : 100_000;
const REPS = opts.quick ? 2 : 3;
/** The throughput rounds stop starting after this (the suite should stay under ~2 minutes). */
const THROUGHPUT_BUDGET_MS = opts.quick ? 20_000 : 60_000;
const LATENCY_CALLS = opts.quick ? 200 : 2_000;
const CPU_TASKS = 16;
const CPU_TASK_MS = 20;
const CPU_REPS = opts.quick ? 1 : 3;
/**
 * Time limits, so a peer that hangs is a note and the suite goes on: building a pool and its
 * first answer, one batch of tiny tasks (~10 s for the slowest peer), one task, one CPU-bound map.
 */
const BOOT_LIMIT_MS = 30_000;
const BATCH_LIMIT_MS = 120_000;
const CALL_LIMIT_MS = 10_000;
const CPU_LIMIT_MS = 60_000;

type Kind = 'thread' | 'process';

/** One pool under test: the same three operations whatever its API. */
interface Contender {
  name: string;
  kind: Kind;
  /** Runs `increment` on every item with everything submitted at once; resolves with the results' sum. */
  all(items: readonly number[]): Promise<number>;
  /** One task, awaited. */
  one(x: number): Promise<number>;
  close(): Promise<unknown>;
}

const sumOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

function threadkitExecutor(kind: Kind): Contender {
  const Ex = kind === 'thread' ? tk.ThreadPoolExecutor : tk.ProcessPoolExecutor;
  const ex = new Ex({ maxWorkers: WORKERS, minWorkers: WORKERS });
  return {
    name: `threadkit \`${kind === 'thread' ? 'ThreadPoolExecutor' : 'ProcessPoolExecutor'}\` (\`submit\` all, await each \`result()\`)`,
    kind,
    async all(items) {
      const futures = items.map((x) => ex.submit(increment, x));
      let sum = 0;
      for (const f of futures) sum += await f.result();
      return sum;
    },
    one: (x) => ex.submit(increment, x).result(),
    close: () => ex.shutdown({ wait: true }),
  };
}

function threadkitPool(kind: Kind): Contender {
  const pool = new tk.Pool({ kind, processes: WORKERS });
  return {
    name: `threadkit \`Pool({ kind: '${kind}' })\` (\`map\`; one at a time: \`apply\`)`,
    kind,
    all: async (items) => sumOf(await pool.map(increment, items)),
    one: (x) => pool.apply(increment, [x]),
    close: () => pool.terminate(),
  };
}

/** piscina, tinypool, workerpool and poolifier are imported only here, so a missing one is a skip note. */
async function peer(name: string): Promise<Contender> {
  const tasks = fixture('pool-tasks.js').href;
  if (name === 'piscina') {
    const { Piscina } = await import('piscina');
    const pool = new Piscina({ filename: tasks, minThreads: WORKERS, maxThreads: WORKERS });
    const one = (x: number) => pool.run(x, { name: 'increment' }) as Promise<number>;
    return { name: 'piscina `run`', kind: 'thread', all: async (items) => sumOf(await Promise.all(items.map(one))), one, close: () => pool.destroy() };
  }
  if (name === 'tinypool') {
    const { default: Tinypool } = await import('tinypool');
    const pool = new Tinypool({ filename: tasks, minThreads: WORKERS, maxThreads: WORKERS });
    const one = (x: number) => pool.run(x, { name: 'increment' }) as Promise<number>;
    return { name: 'tinypool `run`', kind: 'thread', all: async (items) => sumOf(await Promise.all(items.map(one))), one, close: () => pool.destroy() };
  }
  if (name === 'workerpool' || name === 'workerpool-process') {
    const { default: workerpool } = await import('workerpool');
    const workerType = name === 'workerpool' ? 'thread' : 'process';
    const pool = workerpool.pool(fixture('pool-workerpool-worker.js').pathname, { workerType, minWorkers: WORKERS, maxWorkers: WORKERS });
    const one = (x: number) => pool.exec('increment', [x]) as unknown as Promise<number>;
    return {
      name: `workerpool \`exec\`, ${workerType === 'thread' ? 'threads' : 'processes'}`,
      kind: workerType,
      all: async (items) => sumOf(await Promise.all(items.map(one))),
      one,
      close: async () => void (await pool.terminate()),
    };
  }
  if (name === 'poolifier') {
    const { FixedThreadPool } = await import('poolifier');
    const pool = new FixedThreadPool<number, number>(WORKERS, fixture('pool-poolifier-worker.js').pathname);
    const one = (x: number) => pool.execute(x, 'increment');
    return {
      name: 'poolifier `FixedThreadPool.execute`',
      kind: 'thread',
      all: async (items) => sumOf(await Promise.all(items.map(one))),
      one,
      close: () => pool.destroy(),
    };
  }
  throw new Error(`unknown peer ${name}`);
}

/** The floor: two bare Workers, numbers posted round-robin, replies counted. No ids, no queue. */
async function raw(): Promise<Contender> {
  const workers = Array.from({ length: WORKERS }, () => new Worker(fixture('pool-raw-worker.js')));
  let onReply: (x: number) => void = () => {};
  for (const w of workers) {
    w.on('message', (x: number) => onReply(x));
    w.on('error', (err) => progress(`raw worker failed: ${err.message}`));
  }
  // Booted once it answers.
  await Promise.all(workers.map((w) => new Promise((resolve) => (w.once('message', resolve), w.postMessage(0)))));
  return {
    name: 'raw `postMessage` to 2 `Worker`s (send all, count replies)',
    kind: 'thread',
    all: (items) =>
      new Promise((resolve) => {
        let left = items.length;
        let sum = 0;
        onReply = (x) => {
          sum += x;
          if (--left === 0) resolve(sum);
        };
        for (let i = 0; i < items.length; i++) workers[i % WORKERS]!.postMessage(items[i]);
      }),
    one: (x) =>
      new Promise((resolve) => {
        onReply = resolve;
        workers[0]!.postMessage(x);
      }),
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}

const section = new Section(
  'pools',
  `Worker pools of ${WORKERS}, all running the same functions (bench/targets.ts). Threadkit rows against piscina (the most used ` +
    'thread pool) and against raw `postMessage` to two bare Workers (the floor: no task ids, no queue, no errors). ' +
    'Ratios are of times: threadkit (or the row) ÷ the reference; below 1× the row is faster.',
);

// --- Build every contender; one that cannot be built is a skip note, not a crash ---------------
const contenders: Contender[] = [];
const builders: Array<[string, () => Contender | Promise<Contender>]> = [
  ['threadkit ThreadPoolExecutor', () => threadkitExecutor('thread')],
  ['threadkit Pool (thread)', () => threadkitPool('thread')],
  ['threadkit ProcessPoolExecutor', () => threadkitExecutor('process')],
  ['threadkit Pool (process)', () => threadkitPool('process')],
  ['piscina', () => peer('piscina')],
  ['tinypool', () => peer('tinypool')],
  ['workerpool', () => peer('workerpool')],
  ['poolifier', () => peer('poolifier')],
  ['workerpool, processes', () => peer('workerpool-process')],
  ['raw postMessage', () => raw()],
];
for (const [what, build] of builders) {
  let built: Contender | undefined;
  try {
    await withTimeLimit(`starting ${what}`, BOOT_LIMIT_MS, async (step) => {
      built = await build();
      step.doing('waiting for its first answer');
      await built.one(1); // booted and answering
    });
    contenders.push(built!);
  } catch (err) {
    section.skip(what, `could not start: ${(err as Error)?.message ?? String(err)}`);
    if (built) await section.cleanup(what, built.close);
  }
}
const piscina = contenders.find((c) => c.name.startsWith('piscina'));
const rawC = contenders.find((c) => c.name.startsWith('raw'));

// --- 1. Throughput of tiny tasks ---------------------------------------------------------------
progress(`throughput: ${TASKS} × increment, ${REPS} reps (after a warm-up of ${TASKS / 10}) per pool`);
await section.attempt(
  'throughput',
  async () => {
    const items = Array.from({ length: TASKS }, (_, i) => i);
    const expected = sumOf(items) + TASKS;
    const warmItems = items.slice(0, TASKS / 10);
    const times = new Map<Contender, number[]>(contenders.map((c) => [c, []]));
    const failed = new Map<Contender, string>();
    const once = async (c: Contender, xs: readonly number[], want: number) => {
      const t0 = performance.now();
      const sum = await withTimeLimit(`${c.name}: ${xs.length} tasks`, BATCH_LIMIT_MS, () => c.all(xs));
      const wall = performance.now() - t0;
      if (sum !== want) throw new Error(`wrong sum ${sum} (expected ${want})`);
      return wall;
    };
    for (const c of contenders) {
      try {
        await once(c, warmItems, sumOf(warmItems) + warmItems.length);
      } catch (err) {
        failed.set(c, (err as Error).message);
      }
    }
    // Round-robin, so a burst of load on the shared machine hits every pool alike. The slow peers
    // take seconds per 100 000 tasks: past the budget, no further round starts (one always runs).
    const t0 = performance.now();
    let rounds = 0;
    for (let r = 0; r < REPS && (r === 0 || performance.now() - t0 < THROUGHPUT_BUDGET_MS); r++, rounds++) {
      for (const c of contenders) {
        if (failed.has(c)) continue;
        progress(`  ${c.name.split(' (')[0]} rep ${r + 1}`);
        try {
          times.get(c)!.push(await once(c, items, expected));
        } catch (err) {
          failed.set(c, (err as Error).message);
        }
      }
    }
    const med = (c: Contender | undefined) => (c && !failed.has(c) ? median(times.get(c)!) : NaN);
    const rows = contenders
      .filter((c) => !failed.has(c))
      .map((c) => {
        const m = med(c);
        return [
          c.name,
          c.kind,
          `${Math.round((TASKS / m) * 1000).toLocaleString('en-US')}`,
          ms(m),
          c === piscina ? '' : ratio(m, med(piscina)),
          c === rawC ? '' : ratio(m, med(rawC)),
        ];
      });
    section
      .add(`### Tiny tasks: ${TASKS.toLocaleString('en-US')} × \`x => x + 1\`, all submitted at once, ${WORKERS} workers (median of ${rounds})`)
      .table(['', 'kind', 'tasks/s', 'wall', 'time ÷ piscina', 'time ÷ raw'], rows);
    for (const [c, why] of failed) section.skip(`throughput of ${c.name}`, why);
  },
  15 * 60_000,
);

// --- 2. One task at a time ---------------------------------------------------------------------
progress(`latency: ${LATENCY_CALLS} sequential calls per pool`);
await section.attempt(
  'latency',
  async () => {
    const perCall = new Map<Contender, number[]>();
    const failed = new Map<Contender, string>();
    for (const c of contenders) {
      try {
        // One time limit per call would add a timer to every measured call: one for the whole loop.
        const out: number[] = [];
        await withTimeLimit(`${c.name}: ${LATENCY_CALLS} calls one at a time`, CALL_LIMIT_MS * 10, async (step) => {
          step.doing('warming up');
          for (let i = 0; i < LATENCY_CALLS / 10; i++) await c.one(i);
          step.doing('measuring');
          for (let i = 0; i < LATENCY_CALLS; i++) {
            const t0 = performance.now();
            const r = await c.one(i);
            out.push(performance.now() - t0);
            if (r !== i + 1) throw new Error(`wrong result ${r} for ${i}`);
          }
        });
        perCall.set(c, out);
      } catch (err) {
        failed.set(c, (err as Error).message);
      }
    }
    const med = (c: Contender | undefined) => (c && perCall.has(c) ? median(perCall.get(c)!) * 1e6 : NaN);
    const p99 = (c: Contender) => {
      const s = [...perCall.get(c)!].sort((a, b) => a - b);
      return s[Math.floor(s.length * 0.99)]! * 1e6;
    };
    section
      .add(`### One at a time: ${LATENCY_CALLS.toLocaleString('en-US')} sequential \`await submit(increment, i).result()\` (or the peer's equivalent)`)
      .table(
        ['', 'kind', 'median', 'p99', 'time ÷ piscina', 'time ÷ raw'],
        [...perCall.keys()].map((c) => [
          c.name.replace(/ \(.*\)$/, ''),
          c.kind,
          ns(med(c)),
          ns(p99(c)),
          c === piscina ? '' : ratio(med(c), med(piscina)),
          c === rawC ? '' : ratio(med(c), med(rawC)),
        ]),
      );
    for (const [c, why] of failed) section.skip(`latency of ${c.name}`, why);
  },
  15 * 60_000,
);

for (const c of contenders) await section.cleanup(c.name, c.close);

// --- 3. CPU-bound speed-up: 2 workers against 1 -----------------------------------------------
/** Iterations of `burn` that take about CPU_TASK_MS on this machine (measured here, on the main thread). */
function calibrate(): number {
  let n = 100_000;
  burn(n); // warm the JIT
  for (;;) {
    const t0 = performance.now();
    burn(n);
    const took = performance.now() - t0;
    if (took >= 5) return Math.round((n * CPU_TASK_MS) / took);
    n *= 4;
  }
}

progress(`CPU-bound: ${CPU_TASKS} × ~${CPU_TASK_MS} ms on pools of 1 and 2, ${CPU_REPS} rep(s)`);
await section.attempt(
  'CPU-bound speed-up',
  async () => {
    const iterations = calibrate();
    const tasks = Array.from({ length: CPU_TASKS }, () => iterations);
    const want = burn(iterations);
    const mapWith = async (size: number, make: (size: number) => { map(xs: number[]): Promise<number[]>; close(): Promise<unknown> }) => {
      const pool = make(size);
      try {
        await withTimeLimit(`booting a pool of ${size}`, BOOT_LIMIT_MS, () => pool.map(tasks.slice(0, size))); // every worker booted and warm
        const out: number[] = [];
        for (let r = 0; r < CPU_REPS; r++) {
          const t0 = performance.now();
          const results = await withTimeLimit(`${CPU_TASKS} CPU-bound tasks on a pool of ${size}`, CPU_LIMIT_MS, () => pool.map(tasks));
          out.push(performance.now() - t0);
          if (results.some((x) => x !== want)) throw new Error('wrong checksum');
        }
        return median(out);
      } finally {
        await section.cleanup(`a pool of ${size}`, pool.close);
      }
    };
    const cases: Array<[string, (size: number) => { map(xs: number[]): Promise<number[]>; close(): Promise<unknown> }]> = [
      [
        "threadkit `Pool({ kind: 'thread' })`",
        (size) => {
          const p = new tk.Pool({ kind: 'thread', processes: size });
          return { map: (xs) => p.map(burn, xs, { chunksize: 1 }), close: () => p.terminate() };
        },
      ],
      [
        "threadkit `Pool({ kind: 'process' })`",
        (size) => {
          const p = new tk.Pool({ kind: 'process', processes: size });
          return { map: (xs) => p.map(burn, xs, { chunksize: 1 }), close: () => p.terminate() };
        },
      ],
    ];
    try {
      const { Piscina } = await import('piscina');
      cases.push([
        'piscina (for reference)',
        (size) => {
          const p = new Piscina({ filename: fixture('pool-tasks.js').href, minThreads: size, maxThreads: size });
          return { map: (xs) => Promise.all(xs.map((x) => p.run(x, { name: 'burn' }) as Promise<number>)), close: () => p.destroy() };
        },
      ]);
    } catch (err) {
      section.skip('piscina CPU-bound', (err as Error).message);
    }
    const rows: string[][] = [];
    const goals: string[] = [];
    for (const [name, make] of cases) {
      try {
        const one = await mapWith(1, make);
        const two = await mapWith(2, make);
        const speedup = one / two;
        rows.push([name, ms(one), ms(two), `${speedup.toFixed(2)}×`]);
        if (name.startsWith('threadkit')) goals.push(`- ${name}: ${speedup.toFixed(2)}× (goal ≥ 1.8× on 2 cores): ${speedup >= 1.8 ? 'met' : '**not met**'}`);
      } catch (err) {
        section.skip(`CPU-bound ${name}`, (err as Error).message);
      }
    }
    section
      .add(
        `### CPU-bound: ${CPU_TASKS} tasks of ~${CPU_TASK_MS} ms (\`burn(${iterations.toLocaleString('en-US')})\`, a fixed amount of work), pool of 1 vs pool of 2 (median of ${CPU_REPS})`,
      )
      .table(['', 'pool of 1', 'pool of 2', 'speed-up (1 ÷ 2)'], rows);
    if (goals.length > 0) section.add(['Goals:', ...goals].join('\n'));
    if (opts.quick) section.add('(`--quick`: one repetition; the speed-up is noisy on a busy machine.)');
  },
  10 * 60_000,
);

section.finish();
