/**
 * trace: what tracing costs. An uncontended Lock with tracing off and on (each acquire + release
 * records a hold), and the seed's bank (100 Threads, 10 ms deposits) with and without
 * THREADKIT_TRACE. Tracing off against a build without the hooks is the `locks` suite's
 * figures, compared across commits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE, REPO_DIR, check, loadThreadkit, run } from '../lib/exec.ts';
import { Section, parseOptions, progress } from '../lib/report.ts';
import { median, ms, ns, ratio } from '../lib/stats.ts';

const opts = parseOptions();
const tk = (await loadThreadkit()) as unknown as {
  Lock: new () => { acquire(): Promise<boolean>; acquireSync(options?: { timeoutMs?: number }): boolean; release(): void };
  trace?: { start(o: { path: string }): void; stop(o?: { graceMs?: number }): Promise<{ events: number }> };
};
const section = new Section('trace', 'What recording a trace costs. Ratio: traced ÷ not traced.');
if (!tk.trace) {
  section.skip('every trace benchmark', '`trace` is not exported by threadkit yet.');
  section.print();
  process.exit(0);
}
const trace = tk.trace;
const dir = mkdtempSync(join(tmpdir(), 'threadkit-bench-trace-'));
const PER_BATCH = opts.quick ? 20_000 : 100_000;
const BATCHES = opts.quick ? 3 : 7;

async function perOp(body: () => unknown): Promise<number> {
  const out: number[] = [];
  for (let b = -1; b < BATCHES; b++) {
    const t0 = performance.now();
    for (let i = 0; i < PER_BATCH; i++) await body();
    if (b >= 0) out.push(((performance.now() - t0) * 1e6) / PER_BATCH);
  }
  return median(out);
}

function perOpSync(body: () => unknown): number {
  const out: number[] = [];
  for (let b = -1; b < BATCHES; b++) {
    const t0 = performance.now();
    for (let i = 0; i < PER_BATCH; i++) body();
    if (b >= 0) out.push(((performance.now() - t0) * 1e6) / PER_BATCH);
  }
  return median(out);
}

await section.attempt('uncontended lock', async () => {
  progress(`uncontended Lock, tracing off and on: ${BATCHES} × ${PER_BATCH}`);
  const lock = new tk.Lock();
  const asyncBody = async () => {
    await lock.acquire();
    lock.release();
  };
  // On the main thread a blocking acquireSync() is refused; { timeoutMs: 0 } is the same uncontended path as a try.
  const syncBody = () => {
    lock.acquireSync({ timeoutMs: 0 });
    lock.release();
  };
  const offAsync = await perOp(asyncBody);
  const offSync = perOpSync(syncBody);
  trace.start({ path: join(dir, 'lock.json') });
  const onAsync = await perOp(asyncBody);
  const onSync = perOpSync(syncBody);
  const { events } = await trace.stop({ graceMs: 0 });
  section.add('### Uncontended acquire + release, main thread').table(
    ['', 'tracing off', 'tracing on', 'on ÷ off'],
    [
      ['`await lock.acquire()` + `release()`', ns(offAsync), ns(onAsync), ratio(onAsync, offAsync)],
      ['`lock.acquireSync({ timeoutMs: 0 })` + `release()`', ns(offSync), ns(onSync), ratio(onSync, offSync)],
    ],
  );
  section.add(`The traced runs recorded ${events} events (a hold per acquire) and wrote and merged them.`);
});

await section.attempt('seed bank', async () => {
  const reps = opts.quick ? 3 : 5;
  progress(`the seed's locked bank, 100 Threads: ${reps} runs each way`);
  const bank = async (traced: boolean): Promise<number> => {
    if (traced) process.env.THREADKIT_TRACE = join(dir, 'bank.json');
    try {
      const r = check(
        await run(NODE, [`${REPO_DIR}bin/threadkit.js`, 'bank', '--threads', '100', '--lock', '--json'], { timeoutMs: 60_000 }),
        'threadkit bank',
      );
      return r.wallMs;
    } finally {
      delete process.env.THREADKIT_TRACE;
    }
  };
  const off: number[] = [];
  const on: number[] = [];
  for (let i = 0; i < reps; i++) {
    off.push(await bank(false));
    on.push(await bank(true));
  }
  section.add("### The seed's bank with a Lock: 100 Threads, 10 ms each, wall time of the whole program").table(
    ['', 'median wall time', 'on ÷ off'],
    [
      ['not traced', ms(median(off)), ''],
      ['THREADKIT_TRACE=bank.json', ms(median(on)), ratio(median(on), median(off))],
    ],
  );
});

rmSync(dir, { recursive: true, force: true });
section.print();
