/**
 * start: how long from `start()` to the target's result, for threadkit's Process and Thread
 * against a raw `child_process.fork` / `new Worker` (the floor) and warm worker pools.
 *
 * Cold samples each run in a fresh Node program (`--cold=KIND`), so nothing is warm; warm
 * samples repeat in this program with a pause between them, so threadkit's spares are booted.
 */
import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { NODE, check, loadThreadkit, run } from '../lib/exec.ts';
import { Section, parseOptions, progress, sleep, withTimeLimit, type Step } from '../lib/report.ts';
import { median, ms, p90, ratio } from '../lib/stats.ts';
import { stamp } from '../targets.ts';

const opts = parseOptions();
const tk = await loadThreadkit();
const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const nowAbs = () => performance.timeOrigin + performance.now();

/** One start: how long `start()` itself took, when the target's first line ran, when the result was in hand (ms). */
interface Sample {
  startMs: number;
  firstLineMs: number;
  resultMs: number;
}

type Kind = 'process' | 'fork' | 'thread' | 'worker';

/** Starts one of each kind and measures it; the same code serves cold and warm samples. */
async function once(kind: Kind): Promise<Sample> {
  const t0abs = nowAbs();
  const t0 = performance.now();
  if (kind === 'process' || kind === 'thread') {
    const p = kind === 'process' ? new tk.Process({ target: stamp }) : new tk.Thread({ target: stamp });
    const s0 = performance.now();
    p.start();
    const startMs = performance.now() - s0;
    await p.join();
    if (p.exitCode !== 0) throw new Error(`${kind} ended with exit code ${p.exitCode}: ${String(p.error)}`);
    return { startMs, firstLineMs: (p.result as number) - t0abs, resultMs: performance.now() - t0 };
  }
  if (kind === 'fork') {
    // join() of a threadkit Process waits for the child to end, so the raw fork is timed to 'close' too.
    const child = fork(fixture('fork-child.js'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const startMs = performance.now() - t0;
    const first = new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
    await new Promise((resolve) => child.once('close', resolve));
    return { startMs, firstLineMs: (await first) - t0abs, resultMs: performance.now() - t0 };
  }
  // A Thread's join() needs no isolate teardown, so the raw Worker is timed to its message.
  const worker = new Worker(fixture('worker.js'));
  const startMs = performance.now() - t0;
  const first = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const resultMs = performance.now() - t0;
  await worker.terminate();
  return { startMs, firstLineMs: first - t0abs, resultMs };
}

const coldKind = opts.flags.get('cold') as Kind | undefined;
if (coldKind) {
  // A fresh program: report one cold sample as JSON to the parent and leave.
  process.stdout.write(JSON.stringify(await once(coldKind)));
  process.exit(0);
}

const COLD_REPS = opts.quick ? 2 : 10;
const WARM_REPS = opts.quick ? 3 : 30;
const WARMUP = opts.quick ? 1 : 3;
/** Time for threadkit to boot its next spare child/carrier; the README promises warm starts after a pause. */
const GAP_MS = 200;

const kinds: Kind[] = ['process', 'fork', 'thread', 'worker'];
const label: Record<Kind, string> = {
  process: 'threadkit `Process`',
  fork: 'raw `child_process.fork`',
  thread: 'threadkit `Thread`',
  worker: 'raw `new Worker`',
};

/** No one start may take longer than this (a cold one under load takes ~0.2 s); past it the step fails. */
const SAMPLE_LIMIT_MS = 20_000;

/** Cold samples; a program that fails or hangs is counted, reported, and the others go on. */
async function coldSamples(): Promise<{ samples: Map<Kind, Sample[]>; failures: string[] }> {
  const out = new Map<Kind, Sample[]>(kinds.map((k) => [k, []]));
  const failures: string[] = [];
  // Round-robin, so a burst of load on the shared machine hits every kind alike.
  for (let i = 0; i < COLD_REPS; i++) {
    for (const kind of kinds) {
      try {
        const r = check(
          await run(NODE, [new URL(import.meta.url).pathname, `--cold=${kind}`], { timeoutMs: SAMPLE_LIMIT_MS }),
          `cold ${kind} program ${i + 1}`,
        );
        out.get(kind)!.push(JSON.parse(r.stdout) as Sample);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  }
  return { samples: out, failures };
}

/** Warm samples, each start under its own time limit; the step says which sample it was on. */
async function warmSamples(step: Step, what: string, fn: () => Promise<Sample>): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = -WARMUP; i < WARM_REPS; i++) {
    step.doing(`waiting ${GAP_MS} ms before ${what} ${i < 0 ? 'warm-up' : 'sample'} ${i + WARMUP + 1} of ${WARM_REPS + WARMUP}`);
    await sleep(GAP_MS);
    step.doing(`in ${what} ${i < 0 ? 'warm-up' : 'sample'} ${i + WARMUP + 1} of ${WARM_REPS + WARMUP}`);
    const s = await withTimeLimit(`${what} sample ${i + WARMUP + 1}`, SAMPLE_LIMIT_MS, fn);
    if (i >= 0) out.push(s);
  }
  return out;
}

/** A warm pool's round trip: the "start" is `run()` handing the task over. */
async function poolSample(call: () => Promise<unknown>): Promise<Sample> {
  const t0abs = nowAbs();
  const t0 = performance.now();
  const pending = call();
  const startMs = performance.now() - t0;
  const first = (await pending) as number;
  return { startMs, firstLineMs: first - t0abs, resultMs: performance.now() - t0 };
}

const section = new Section(
  'start',
  `Start-to-result latency of a target that returns its first line's time. **start()**: the call alone; ` +
    `**first line**: until the target runs; **result**: until \`join()\` resolved (threadkit), the forked child ended (fork), ` +
    `the message arrived (Worker, pools). Cold: the first start in a fresh program (${COLD_REPS} programs each); ` +
    `warm: repeated in one program with ${GAP_MS} ms between starts (${WARM_REPS} runs, ${WARMUP} warm-up). Ratio: threadkit ÷ peer on the median result; below 1× threadkit is faster.`,
);

const row = (name: string, s: Sample[], vs?: Sample[]) => [
  name,
  ms(median(s.map((x) => x.startMs))),
  ms(median(s.map((x) => x.firstLineMs))),
  ms(median(s.map((x) => x.resultMs))),
  ms(p90(s.map((x) => x.resultMs))),
  vs ? ratio(median(vs.map((x) => x.resultMs)), median(s.map((x) => x.resultMs))) : '',
];
const HEAD = ['', 'start() median', 'first line median', 'result median', 'result p90', 'threadkit ÷ peer'];

progress(`cold starts: ${COLD_REPS} fresh programs per kind`);
const { samples: cold, failures: coldFailures } = await coldSamples();
const has = (samples: Sample[] | undefined): samples is Sample[] => samples !== undefined && samples.length > 0;
const coldRow = (kind: Kind, vs?: Kind) => row(label[kind], cold.get(kind)!, vs ? cold.get(vs) : undefined);
section.add('### Cold').table(HEAD, [coldRow('process'), coldRow('fork', 'process'), coldRow('thread'), coldRow('worker', 'thread')]);
for (const why of coldFailures) section.skip('a cold sample', why);
/** Issue 11's goal: a cold start to result within 1.1× of the raw primitive's. */
const COLD_GOAL = 1.1;
const coldGoal = (what: string, kind: Kind, raw: Kind) => {
  const [mine, peer] = [cold.get(kind), cold.get(raw)];
  if (!has(mine) || !has(peer)) return `- ${what}: not measured`;
  const r = median(mine.map((x) => x.resultMs)) / median(peer.map((x) => x.resultMs));
  return `- ${what} start to result ${r.toFixed(2)}× ${label[raw]} (goal ≤ ${COLD_GOAL}×): ${r <= COLD_GOAL ? 'met' : '**not met**'}`;
};
section.add(['Goals (cold):', coldGoal('Process', 'process', 'fork'), coldGoal('Thread', 'thread', 'worker')].join('\n'));

/** A step: the whole loop of one kind under a time limit, so a start that hangs is a note, not a hang. */
const STEP_LIMIT_MS = (WARM_REPS + WARMUP) * (GAP_MS + 2_000) + 30_000;

progress(`warm starts: ${WARM_REPS} per kind, ${GAP_MS} ms apart`);
const warm = new Map<Kind, Sample[]>();
for (const kind of kinds) {
  await section.attempt(`warm ${label[kind]}`, async (step) => void warm.set(kind, await warmSamples(step, label[kind], () => once(kind))), STEP_LIMIT_MS);
}

// Warm pools are what a warm threadkit start competes with: a task handed to a booted worker.
// Imported here, not at the top: the cold-start programs (this same file) need none of them.
// Each pool is built just before its step and closed right after it (under a time limit of its
// own: poolifier 5.3's destroy() can wait forever for an 'exit' event its worker already sent),
// so that no pool sits idle through another's step and none can hold up the suite.
interface WarmPool {
  name: string;
  kind: 'process' | 'thread';
  make(): Promise<{ call(): Promise<unknown>; close(): Promise<unknown> }>;
}
const warmPools: WarmPool[] = [
  {
    name: 'piscina',
    kind: 'thread',
    async make() {
      const { Piscina } = await import('piscina');
      const pool = new Piscina({ filename: fixture('pool-task.js').href, minThreads: 1, maxThreads: 1 });
      return { call: () => pool.run(null), close: () => pool.destroy() };
    },
  },
  {
    name: 'tinypool',
    kind: 'thread',
    async make() {
      const { default: Tinypool } = await import('tinypool');
      const pool = new Tinypool({ filename: fixture('pool-task.js').href, minThreads: 1, maxThreads: 1 });
      return { call: () => pool.run(null), close: () => pool.destroy() };
    },
  },
  {
    name: 'workerpool, threads',
    kind: 'thread',
    async make() {
      const { default: workerpool } = await import('workerpool');
      const pool = workerpool.pool(fixture('workerpool-worker.js').pathname, { workerType: 'thread', minWorkers: 1, maxWorkers: 1 });
      return { call: () => pool.exec('stamp', []), close: async () => void (await pool.terminate()) };
    },
  },
  {
    name: 'poolifier',
    kind: 'thread',
    async make() {
      const { FixedThreadPool } = await import('poolifier');
      const pool = new FixedThreadPool(1, fixture('poolifier-worker.js').pathname);
      return { call: () => pool.execute(), close: () => pool.destroy() };
    },
  },
  {
    name: 'workerpool, processes',
    kind: 'process',
    async make() {
      const { default: workerpool } = await import('workerpool');
      const pool = workerpool.pool(fixture('workerpool-worker.js').pathname, { workerType: 'process', minWorkers: 1, maxWorkers: 1 });
      return { call: () => pool.exec('stamp', []), close: async () => void (await pool.terminate()) };
    },
  },
];

const poolRows: string[][] = [];
for (const { name, kind, make } of warmPools) {
  progress(`warm pool: ${name}`);
  let pool: Awaited<ReturnType<WarmPool['make']>> | undefined;
  await section.attempt(
    `warm pool ${name}`,
    async (step) => {
      step.doing('building the pool');
      pool = await make();
      const { call } = pool;
      poolRows.push(row(`${name} (warm pool)`, await warmSamples(step, name, () => poolSample(call)), warm.get(kind)));
    },
    STEP_LIMIT_MS,
  );
  if (pool) await section.cleanup(name, pool.close);
}
const warmRow = (kind: Kind, vs?: Kind) => (has(warm.get(kind)) ? [row(label[kind], warm.get(kind)!, vs ? warm.get(vs) : undefined)] : []);
section
  .add('### Warm')
  .table(HEAD, [
    ...warmRow('process'),
    ...warmRow('fork', 'process'),
    ...poolRows.filter((r) => r[0]!.includes('processes')),
    ...warmRow('thread'),
    ...warmRow('worker', 'thread'),
    ...poolRows.filter((r) => !r[0]!.includes('processes')),
  ]);

section.add(
  'Pools hand a task to a worker that is already running and stays running; a threadkit `Process` or `Thread` is a new ' +
    'run each time, as in Python (a new child process per `Process`). So the pools are the floor a warm start can approach, ' +
    'and for `Process` (a fresh child vs a reused one) not a like-for-like peer.',
);

const goal = (what: string, samples: Sample[] | undefined, limit: number) => {
  const m = median((samples ?? []).map((x) => x.startMs));
  return `- ${what} \`start()\` median ${ms(m)} (goal ≤ ${limit} ms): ${m <= limit ? 'met' : '**not met**'}`;
};
section.add(['Goals (warm):', goal('Thread', warm.get('thread'), 2), goal('Process', warm.get('process'), 5)].join('\n'));
section.finish();
