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
import { Section, parseOptions, progress, sleep } from '../lib/report.ts';
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

async function coldSamples(): Promise<Map<Kind, Sample[]>> {
  const out = new Map<Kind, Sample[]>(kinds.map((k) => [k, []]));
  // Round-robin, so a burst of load on the shared machine hits every kind alike.
  for (let i = 0; i < COLD_REPS; i++) {
    for (const kind of kinds) {
      const r = check(await run(NODE, [new URL(import.meta.url).pathname, `--cold=${kind}`], { timeoutMs: 30_000 }), `cold ${kind}`);
      out.get(kind)!.push(JSON.parse(r.stdout) as Sample);
    }
  }
  return out;
}

async function warmSamples(fn: () => Promise<Sample>): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = -WARMUP; i < WARM_REPS; i++) {
    await sleep(GAP_MS);
    const s = await fn();
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
const cold = await coldSamples();
section.add('### Cold').table(HEAD, [
  row(label.process, cold.get('process')!),
  row(label.fork, cold.get('fork')!, cold.get('process')),
  row(label.thread, cold.get('thread')!),
  row(label.worker, cold.get('worker')!, cold.get('thread')),
]);

progress(`warm starts: ${WARM_REPS} per kind, ${GAP_MS} ms apart`);
const warm = new Map<Kind, Sample[]>();
for (const kind of kinds) warm.set(kind, await warmSamples(() => once(kind)));

// Warm pools are what a warm threadkit start competes with: a task handed to a booted worker.
// Imported here, not at the top: the cold-start programs (this same file) need none of them.
const { Piscina } = await import('piscina');
const { default: Tinypool } = await import('tinypool');
const { default: workerpool } = await import('workerpool');
const { FixedThreadPool } = await import('poolifier');
// Each pool keeps one booted worker: the round trip of one task is its "start".
const pools: Array<[string, 'process' | 'thread', () => Promise<unknown>, () => Promise<unknown>]> = [];
const piscina = new Piscina({ filename: fixture('pool-task.js').href, minThreads: 1, maxThreads: 1 });
pools.push(['piscina', 'thread', () => piscina.run(null), () => piscina.destroy()]);
const tinypool = new Tinypool({ filename: fixture('pool-task.js').href, minThreads: 1, maxThreads: 1 });
pools.push(['tinypool', 'thread', () => tinypool.run(null), () => tinypool.destroy()]);
const wpThread = workerpool.pool(fixture('workerpool-worker.js').pathname, { workerType: 'thread', minWorkers: 1, maxWorkers: 1 });
pools.push(['workerpool, threads', 'thread', () => wpThread.exec('stamp', []), async () => void (await wpThread.terminate())]);
const poolifier = new FixedThreadPool(1, fixture('poolifier-worker.js').pathname);
pools.push(['poolifier', 'thread', () => poolifier.execute(), () => poolifier.destroy()]);
const wpProcess = workerpool.pool(fixture('workerpool-worker.js').pathname, { workerType: 'process', minWorkers: 1, maxWorkers: 1 });
pools.push(['workerpool, processes', 'process', () => wpProcess.exec('stamp', []), async () => void (await wpProcess.terminate())]);

const poolRows: string[][] = [];
for (const [name, kind, call, close] of pools) {
  progress(`warm pool: ${name}`);
  try {
    poolRows.push(row(`${name} (warm pool)`, await warmSamples(() => poolSample(call)), warm.get(kind)));
  } catch (err) {
    section.skip(name, (err as Error).message);
  }
  await close();
}
section.add('### Warm').table(HEAD, [
  row(label.process, warm.get('process')!),
  row(label.fork, warm.get('fork')!, warm.get('process')),
  ...poolRows.filter((r) => r[0]!.includes('processes')),
  row(label.thread, warm.get('thread')!),
  row(label.worker, warm.get('worker')!, warm.get('thread')),
  ...poolRows.filter((r) => !r[0]!.includes('processes')),
]);

section.add(
  'Pools hand a task to a worker that is already running and stays running; a threadkit `Process` or `Thread` is a new ' +
    'run each time, as in Python (a new child process per `Process`). So the pools are the floor a warm start can approach, ' +
    'and for `Process` (a fresh child vs a reused one) not a like-for-like peer.',
);

const goal = (what: string, samples: Sample[], limit: number) => {
  const m = median(samples.map((x) => x.startMs));
  return `- ${what} \`start()\` median ${ms(m)} (goal ≤ ${limit} ms): ${m <= limit ? 'met' : '**not met**'}`;
};
section.add(
  ['Goals (warm):', goal('Thread', warm.get('thread')!, 2), goal('Process', warm.get('process')!, 5)].join('\n'),
);
section.print();
