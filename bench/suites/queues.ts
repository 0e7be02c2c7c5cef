/**
 * queues: what crossing between processes costs with threadkit's process-shared primitives.
 *
 *   1. a Lock handed back and forth between two Processes (ping-pong), and an uncontended
 *      `acquireSync()` + `release()` in a Process, against CPython's `multiprocessing.Lock`;
 *   2. `Queue` throughput from the parent to a child Process, against CPython's
 *      `multiprocessing.Queue` (bench/python/mp_queue.py, the same pattern);
 *   3. `Queue` throughput from the main thread to a Thread, against a raw `MessagePort`.
 *
 * Clocks start once every party is running (a shared word says so), so start-up is not counted.
 */
import { Worker } from 'node:worker_threads';
import { BENCH_DIR, check, loadThreadkit, pythonExecutable, run } from '../lib/exec.ts';
import { Section, parseOptions, progress } from '../lib/report.ts';
import { median, ms, ns, ratio } from '../lib/stats.ts';
import { drainQueue, lockPingPong, lockPingPongAsync, lockSyncLoop, stamp } from '../targets.ts';

const opts = parseOptions();
const tk = await loadThreadkit();
const section = new Section(
  'queues',
  'Locks and queues between processes (threadkit keeps them in /dev/shm, waits on futexes) and between threads. ' +
    'Ratio: threadkit ÷ peer, of times (below 1× threadkit is faster).',
);

const ROUNDS = opts.quick ? 2_000 : 20_000;
const PER_BATCH = opts.quick ? 20_000 : 100_000;
const BATCHES = opts.quick ? 3 : 7;
const ITEMS = opts.quick ? 10_000 : 100_000;
const REPS = opts.quick ? 1 : 3;

type ThreadOrProcess = InstanceType<typeof tk.Process> | InstanceType<typeof tk.Thread>;

/** Starts them all, joins them all, and throws the first error (a child's error is not thrown by join). */
async function runAll<T>(...children: ThreadOrProcess[]): Promise<T[]> {
  for (const c of children) c.start();
  await Promise.all(children.map((c) => c.join(120_000)));
  for (const c of children) {
    if (c.isAlive()) {
      for (const k of children) k.terminate();
      throw new Error(`${c.name} did not finish within 2 minutes`);
    }
    if (c.exitCode !== 0) throw c.error ?? new Error(`${c.name} ended with exit code ${c.exitCode}`);
  }
  return children.map((c) => c.result as T);
}

/** CPython's peer, one JSON line; throws (a skip note) when python3 is missing or fails. */
async function python(mode: string, n: number): Promise<Record<string, number>> {
  const r = check(await run(pythonExecutable(), [`${BENCH_DIR}python/mp_queue.py`, mode, String(n)], { timeoutMs: 120_000 }), `mp_queue.py ${mode}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const medianOf = async (reps: number, fn: () => Promise<number>) => {
  const out: number[] = [];
  for (let i = 0; i < reps; i++) out.push(await fn());
  return median(out);
};

// --- 1a. Lock hand-off between two Processes ----------------------------------------------------
progress(`lock ping-pong: ${ROUNDS} rounds × ${REPS} between two Processes, two Threads, and CPython`);
await section.attempt('lock ping-pong', async () => {
  const handOffNs = (wallMs: number) => (wallMs * 1e6) / (2 * ROUNDS);
  const pair = () => {
    const ping = new tk.Lock();
    const pong = new tk.Lock();
    ping.tryAcquire();
    pong.tryAcquire();
    return [ping, pong] as const;
  };
  const processNs = await medianOf(REPS, async () => {
    const [ping, pong] = pair();
    const gate = new tk.RawValue('i', 0);
    const [ms] = await runAll<number>(
      new tk.Process({ target: lockPingPongAsync, args: ['ping', ping, pong, gate, ROUNDS] }),
      new tk.Process({ target: lockPingPongAsync, args: ['pong', ping, pong, gate, ROUNDS] }),
    );
    return handOffNs(ms!);
  });
  const rows = [['threadkit `Lock`, two Processes (`await acquire()`: a Process runs on its main thread)', ns(processNs), '']];
  try {
    const py = await medianOf(REPS, async () => {
      const r = await python('pingpong', ROUNDS);
      return (r.seconds! * 1e9) / r.handoffs!;
    });
    rows.push(['CPython `multiprocessing.Lock`, two Processes', ns(py), ratio(processNs, py)]);
  } catch (err) {
    section.skip('CPython lock ping-pong', (err as Error).message);
  }
  await section.attempt('lock ping-pong between Threads', async () => {
    const threadNs = await medianOf(REPS, async () => {
      const [ping, pong] = pair();
      const gate = new SharedArrayBuffer(4);
      const [ms] = await runAll<number>(
        new tk.Thread({ target: lockPingPong, args: ['ping', ping, pong, gate, ROUNDS] }),
        new tk.Thread({ target: lockPingPong, args: ['pong', ping, pong, gate, ROUNDS] }),
      );
      return handOffNs(ms!);
    });
    rows.push(['threadkit `Lock`, two Threads (`acquireSync()`), for reference', ns(threadNs), ratio(processNs, threadNs)]);
  });
  section
    .add(
      `### Lock hand-off between two processes: ping-pong over two Locks used as binary semaphores (${ROUNDS.toLocaleString('en-US')} rounds, 2 hand-offs each, median of ${REPS})`,
    )
    .table(['', 'per hand-off', 'threadkit Processes ÷ row'], rows);
});

// --- 1b. Uncontended acquireSync + release in a Process ------------------------------------------
progress(`uncontended acquireSync in a Process: ${BATCHES} × ${PER_BATCH}`);
await section.attempt('uncontended in a Process', async () => {
  const [batches] = await runAll<number[]>(new tk.Process({ target: lockSyncLoop, args: [new tk.Lock(), PER_BATCH, BATCHES] }));
  const tkNs = median(batches!);
  const rows = [['threadkit `acquireSync()` + `release()` in a Process (process-shared memory)', ns(tkNs), '']];
  try {
    const [threadBatches] = await runAll<number[]>(new tk.Thread({ target: lockSyncLoop, args: [new tk.Lock({ memory: 'thread' }), PER_BATCH, BATCHES] }));
    rows.push([
      "threadkit, the same in a Thread with `{ memory: 'thread' }` (a SharedArrayBuffer)",
      ns(median(threadBatches!)),
      ratio(tkNs, median(threadBatches!)),
    ]);
  } catch (err) {
    section.skip('uncontended in a Thread', (err as Error).message);
  }
  try {
    const py = await medianOf(REPS, async () => {
      const r = await python('uncontended', PER_BATCH * 5);
      return (r.seconds! * 1e9) / r.ops!;
    });
    rows.push(['CPython `multiprocessing.Lock` `acquire()` + `release()` in a Process', ns(py), ratio(tkNs, py)]);
  } catch (err) {
    section.skip('CPython uncontended lock', (err as Error).message);
  }
  section
    .add(`### Uncontended acquire + release in a child process (median of ${BATCHES} batches of ${PER_BATCH.toLocaleString('en-US')})`)
    .table(['', 'per acquire+release', 'threadkit ÷ row'], rows);
  section.add(`Goal: ≤ 2 µs in a Process: ${ns(tkNs)}, ${tkNs <= 2000 ? 'met' : '**not met**'}.`);
});

// --- 2. Queue: parent → child Process --------------------------------------------------------------
/** Items/s of a threadkit Queue from this thread to a consumer (a Process or a Thread). */
async function queueRate(kind: 'process' | 'thread', mode: 'async' | 'sync'): Promise<number> {
  const q = new tk.Queue<number>();
  const ready = new tk.RawValue('i', 0);
  const Kind = kind === 'process' ? tk.Process : tk.Thread;
  const child = new Kind({ target: drainQueue, args: [q, ITEMS, ready, mode] });
  child.start();
  const deadline = performance.now() + 30_000;
  while (ready.value !== 1) {
    if (!child.isAlive() && child.exitCode !== null) throw child.error ?? new Error(`consumer ended with ${child.exitCode}`);
    if (performance.now() > deadline) throw new Error('the consumer never started');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const t0 = stamp();
  for (let i = 0; i < ITEMS; i++) await q.put(i);
  await child.join(120_000);
  if (child.isAlive()) {
    child.terminate();
    throw new Error('the consumer did not finish within 2 minutes');
  }
  if (child.exitCode !== 0) throw child.error;
  const { doneAt, sum } = child.result as { doneAt: number; sum: number };
  if (sum !== (ITEMS * (ITEMS - 1)) / 2) throw new Error(`items lost or duplicated: sum ${sum}`);
  q.close();
  return (ITEMS * 1000) / (doneAt - t0);
}

const rate = (r: number) => `${Math.round(r).toLocaleString('en-US')}/s`;

progress(`Queue to a Process: ${ITEMS} ints × ${REPS}, and CPython's multiprocessing.Queue`);
await section.attempt('Queue between processes', async () => {
  const tkRate = await medianOf(REPS, () => queueRate('process', 'async'));
  const rows = [['threadkit `Queue`: parent `await put(i)`, child Process `await get()`', rate(tkRate), ms((ITEMS * 1000) / tkRate), '']];
  try {
    const py = await medianOf(REPS, async () => {
      const r = await python('queue', ITEMS);
      return r.items! / r.seconds!;
    });
    rows.push(['CPython `multiprocessing.Queue`: parent `put(i)`, child Process `get()`', rate(py), ms((ITEMS * 1000) / py), ratio(py, tkRate)]);
  } catch (err) {
    section.skip('CPython multiprocessing.Queue', (err as Error).message);
  }
  section
    .add(`### Queue throughput, parent → child process: ${ITEMS.toLocaleString('en-US')} small ints (median of ${REPS})`)
    .table(['', 'items/s', 'all items', 'threadkit ÷ peer (time)'], rows);
});

// --- 3. Queue: main thread → Thread, against a raw MessagePort ---------------------------------
/** The floor: ints posted on a MessageChannel to a bare Worker that sums them and says when done. */
async function messagePortRate(): Promise<number> {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.once('message', ({ port, n }) => {
       let left = n, sum = 0;
       port.on('message', (x) => {
         sum += x;
         if (--left === 0) { parentPort.postMessage({ doneAt: performance.timeOrigin + performance.now(), sum }); port.close(); }
       });
       parentPort.postMessage('ready');
     });`,
    { eval: true },
  );
  try {
    const { port1, port2 } = new MessageChannel();
    const messages: unknown[] = [];
    let wake = () => {};
    worker.on('message', (m) => (messages.push(m), wake()));
    const next = () => (messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise<unknown>((r) => (wake = () => r(messages.shift()))));
    worker.postMessage({ port: port2, n: ITEMS }, [port2]);
    if ((await next()) !== 'ready') throw new Error('the raw worker did not start');
    const t0 = stamp();
    for (let i = 0; i < ITEMS; i++) port1.postMessage(i);
    const { doneAt, sum } = (await next()) as { doneAt: number; sum: number };
    port1.close();
    if (sum !== (ITEMS * (ITEMS - 1)) / 2) throw new Error(`items lost: sum ${sum}`);
    return (ITEMS * 1000) / (doneAt - t0);
  } finally {
    await worker.terminate();
  }
}

progress(`Queue to a Thread: ${ITEMS} ints × ${REPS}, and a raw MessagePort`);
await section.attempt('Queue between threads', async () => {
  const rows: string[][] = [];
  const syncRate = await medianOf(REPS, () => queueRate('thread', 'sync'));
  rows.push(['threadkit `Queue`: main `await put(i)`, Thread `getSync()`', rate(syncRate), ms((ITEMS * 1000) / syncRate), '']);
  const asyncRate = await medianOf(REPS, () => queueRate('thread', 'async'));
  rows.push(['threadkit `Queue`: main `await put(i)`, Thread `await get()`', rate(asyncRate), ms((ITEMS * 1000) / asyncRate), '']);
  try {
    const raw = await medianOf(REPS, messagePortRate);
    rows[0]![3] = ratio(raw, syncRate);
    rows[1]![3] = ratio(raw, asyncRate);
    rows.push(['raw `MessagePort.postMessage(i)` to a bare Worker (the floor)', rate(raw), ms((ITEMS * 1000) / raw), '']);
  } catch (err) {
    section.skip('raw MessagePort', (err as Error).message);
  }
  section
    .add(`### Queue throughput, main thread → worker thread: ${ITEMS.toLocaleString('en-US')} small ints (median of ${REPS})`)
    .table(['', 'items/s', 'all items', 'threadkit ÷ raw (time)'], rows);
});

section.finish();
