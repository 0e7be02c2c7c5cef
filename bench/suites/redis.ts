/**
 * redis: `threadkit/redis` against a local redis-server started for this run (a free port, no
 * persistence), every peer on the same server in the same run.
 *
 *   1. `RedisLock` uncontended acquire + release, against a bare `SET NX PX` + Lua release (the
 *      floor: one round trip each) and node-redlock with one instance;
 *   2. `RedisLock` contended hand-off between two clients, against node-redlock (it polls);
 *   3. `ClusterExecutor` tiny-task throughput and one-at-a-time latency, with one
 *      `threadkit worker -j C`, against raw BullMQ with one worker of the same concurrency.
 *
 * Every step runs under a time limit and is reported as failed, not waited on, when it passes it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import Redlock from 'redlock';
import { BENCH_DIR, NODE, REPO_DIR, hasCommand } from '../lib/exec.ts';
import { Section, parseOptions, progress } from '../lib/report.ts';
import { median, ms, ratio } from '../lib/stats.ts';

const opts = parseOptions();
const section = new Section(
  'redis',
  '`threadkit/redis` against its peers on one local redis-server (loopback, no persistence), all in this run. ' +
    'Ratio: threadkit ÷ peer, of times (below 1× threadkit is faster).',
);
const REPS = opts.quick ? 3 : 5;
const LOCK_OPS = opts.quick ? 500 : 3000;
const HANDOFFS = opts.quick ? 50 : 200;
const TASKS = opts.quick ? 500 : 3000;
const LATENCY_TASKS = opts.quick ? 50 : 300;
const CONCURRENCY = 8;
const STEP_MS = opts.quick ? 60_000 : 180_000;

/** Rejects when `promise` does not settle within `ms`: a benchmark that can hang measures nothing. */
async function limited<T>(what: string, promise: Promise<T>, msLimit = STEP_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} ran past ${msLimit / 1000} s`)), msLimit))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const children: ChildProcess[] = [];
function stopAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}
process.once('SIGTERM', () => (stopAll(), process.exit(143)));

/** Starts a child and resolves once it prints a line matching `ready`. */
function startChild(args: string[], ready: RegExp, cwd = REPO_DIR): Promise<ChildProcess> {
  const child = spawn(NODE, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return limited(
    `starting ${args.join(' ')}`,
    new Promise<ChildProcess>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (ready.test(out)) resolve(child);
      });
      child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before it was ready`)));
    }),
    30_000,
  );
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

if (!hasCommand('redis-server')) {
  section.skip('all', 'redis-server is not on PATH (apt-get install -y redis-server)');
  section.print();
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'threadkit-bench-redis-'));
const port = await freePort();
const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
children.push(server);
const url = `redis://127.0.0.1:${port}`;
const admin = new Redis(url, { maxRetriesPerRequest: 3, retryStrategy: (n) => (n > 50 ? null : 100) });
admin.on('error', () => {});
await limited('redis-server start', admin.ping());
const { RedisLock, ClusterExecutor } = await import('../../dist/redis/index.js');
const { double } = await import('../fixtures/redis-task.js');

const perOp = (n: number, fn: () => Promise<void>) => async () => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - t0) * 1000) / n; // µs
};
const medianOf = async (fn: () => Promise<number>) => {
  await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < REPS; i++) out.push(await fn());
  return median(out);
};
/** Runs each way once per round (after one warm-up round), REPS rounds; the median of each. */
async function interleaved<K extends string>(ways: Record<K, () => Promise<number>>): Promise<Record<K, number>> {
  const keys = Object.keys(ways) as K[];
  for (const k of keys) await ways[k]();
  const runs = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as unknown as Record<K, number[]>;
  for (let i = 0; i < REPS; i++) for (const k of keys) runs[k].push(await ways[k]());
  return Object.fromEntries(keys.map((k) => [k, median(runs[k])])) as unknown as Record<K, number>;
}
const us = (v: number) => (v >= 1000 ? ms(v / 1000) : `${v.toFixed(0)} µs`);

try {
  // --- 1. uncontended ----------------------------------------------------------------------------
  progress(`lock uncontended: ${LOCK_OPS} acquire+release × ${REPS}, the three taking turns`);
  await section.attempt('lock uncontended', async () => {
    const lock = new RedisLock({ redis: url, name: 'bench-uncontended', leaseMs: 10_000 });
    const bare = new Redis(url);
    bare.defineCommand('benchRelease', {
      numberOfKeys: 1,
      lua: "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
    });
    const rlClient = new Redis(url);
    const redlock = new Redlock([rlClient], { retryCount: 0 });
    const ways = {
      tk: perOp(LOCK_OPS, async () => {
        await lock.acquire();
        await lock.release();
      }),
      bare: perOp(LOCK_OPS, async () => {
        const token = randomUUID();
        if ((await bare.set('bench-bare', token, 'PX', 10_000, 'NX')) !== 'OK') throw new Error('bare lock taken');
        await (bare as unknown as { benchRelease(k: string, t: string): Promise<number> }).benchRelease('bench-bare', token);
      }),
      rl: perOp(LOCK_OPS, async () => {
        const l = await redlock.acquire(['bench-redlock'], 10_000);
        await l.release();
      }),
    };
    // Round-robin, so that load from elsewhere on the machine falls on all three alike.
    const times = await limited('uncontended locks', interleaved(ways));
    await lock.close();
    bare.disconnect();
    rlClient.disconnect();
    section.add(`### RedisLock uncontended acquire + release (${LOCK_OPS} per run, median of ${REPS}, taking turns)`).table(
      ['', 'per acquire + release', 'RedisLock ÷ row'],
      [
        ['threadkit `RedisLock` (Lua acquire with fence, renewal timer, Lua release)', us(times.tk), ''],
        ['bare `SET NX PX` + Lua release (the floor: one round trip each)', us(times.bare), ratio(times.tk, times.bare)],
        ['node-redlock 5.0.0-beta.2, one instance', us(times.rl), ratio(times.tk, times.rl)],
      ],
    );
  });

  // --- 2. contended hand-off ---------------------------------------------------------------------
  progress(`lock hand-off: ${HANDOFFS} releases with a waiter, × ${REPS}`);
  await section.attempt('lock hand-off', async () => {
    interface Client {
      acquire(): Promise<void>;
      release(): Promise<void>;
    }
    /** Holder A releases while B waits in acquire(): the time from A's release to B holding. */
    const handOff = (a: Client, b: Client) => async () => {
      const lat: number[] = [];
      for (let i = 0; i < HANDOFFS; i++) {
        await a.acquire();
        const waiting = b.acquire();
        await new Promise((r) => setTimeout(r, 2)); // B is waiting now
        const t0 = performance.now();
        await a.release();
        await waiting;
        lat.push((performance.now() - t0) * 1000);
        await b.release();
      }
      return median(lat);
    };
    const tkA = new RedisLock({ redis: url, name: 'bench-contended', leaseMs: 10_000 });
    const tkB = new RedisLock({ redis: url, name: 'bench-contended', leaseMs: 10_000 });
    const wrap = (l: InstanceType<typeof RedisLock>): Client => ({ acquire: async () => void (await l.acquire()), release: () => l.release() });
    const rlClients = [new Redis(url), new Redis(url)];
    const rlWrap = (c: Redis): Client => {
      const redlock = new Redlock([c], { retryCount: -1, retryDelay: 10, retryJitter: 5 });
      let held: Awaited<ReturnType<typeof redlock.acquire>> | undefined;
      return {
        acquire: async () => void (held = await redlock.acquire(['bench-redlock-contended'], 10_000)),
        release: async () => void (await held!.release()),
      };
    };
    const times = await limited('lock hand-off', interleaved({ tk: handOff(wrap(tkA), wrap(tkB)), rl: handOff(rlWrap(rlClients[0]!), rlWrap(rlClients[1]!)) }));
    await tkA.close();
    await tkB.close();
    for (const c of rlClients) c.disconnect();
    section.add(`### RedisLock hand-off: one client releases while another waits in acquire (median of ${HANDOFFS} hand-offs, ${REPS} runs)`).table(
      ['', 'release → the waiter holds it', 'RedisLock ÷ row'],
      [
        ['threadkit `RedisLock` (the waiter is woken by a pub/sub release message)', us(times.tk), ''],
        ['node-redlock, `retryDelay: 10` ms (it polls)', us(times.rl), ratio(times.tk, times.rl)],
      ],
    );
  });

  // --- 3. executor ---------------------------------------------------------------------------------
  progress(`executor: ${TASKS} tiny tasks and ${LATENCY_TASKS} one at a time, concurrency ${CONCURRENCY}`);
  await section.attempt('executor', async () => {
    const tkQueue = `bench-${randomUUID().slice(0, 8)}`;
    const tkWorker = await startChild(
      [`${REPO_DIR}bin/threadkit.js`, 'worker', '--redis', url, '--queue', tkQueue, '--root', BENCH_DIR, '-j', String(CONCURRENCY)],
      /serving queue/,
    );
    const executor = new ClusterExecutor({ redis: url, queue: tkQueue });
    const tkThroughput = await limited(
      'ClusterExecutor throughput',
      medianOf(async () => {
        const t0 = performance.now();
        const fs = Array.from({ length: TASKS }, (_, i) => executor.submit(double, i));
        for (const f of fs) await f.result();
        return (TASKS * 1000) / (performance.now() - t0);
      }),
    );
    const tkLatency = await limited(
      'ClusterExecutor latency',
      medianOf(async () => {
        const lat: number[] = [];
        for (let i = 0; i < LATENCY_TASKS; i++) {
          const t0 = performance.now();
          await executor.submit(double, i).result();
          lat.push(performance.now() - t0);
        }
        return median(lat);
      }),
    );
    await executor.shutdown();
    await stopChild(tkWorker);

    const rawQueue = `bench-raw-${randomUUID().slice(0, 8)}`;
    const rawWorker = await startChild([`${BENCH_DIR}fixtures/bullmq-worker.js`, url, rawQueue, String(CONCURRENCY)], /serving/, BENCH_DIR);
    const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
    const queue = new Queue(rawQueue, { connection, prefix: 'raw' });
    queue.setMaxListeners(0);
    // From the start of the (new) stream, as ClusterExecutor reads it: the default '$' misses
    // events written before QueueEvents' first read.
    const events = new QueueEvents(rawQueue, { connection, prefix: 'raw', lastEventId: '0-0' });
    await events.waitUntilReady();
    // As ClusterExecutor does: one QueueEvents listener settles every job by id (waitUntilFinished
    // cannot be used with removeOnComplete: the job may be gone before it looks).
    const pending = new Map<string, () => void>();
    events.on('completed', ({ jobId }) => pending.get(jobId)?.());
    const runRaw = (x: number) => {
      const jobId = randomUUID();
      const done = new Promise<void>((r) => pending.set(jobId, () => (pending.delete(jobId), r())));
      return queue.add('double', { x }, { jobId, removeOnComplete: true }).then(() => done);
    };
    const rawThroughput = await limited(
      'raw BullMQ throughput',
      medianOf(async () => {
        const t0 = performance.now();
        const jobs = [];
        for (let i = 0; i < TASKS; i++) jobs.push(runRaw(i));
        await Promise.all(jobs);
        return (TASKS * 1000) / (performance.now() - t0);
      }),
    );
    const rawLatency = await limited(
      'raw BullMQ latency',
      medianOf(async () => {
        const lat: number[] = [];
        for (let i = 0; i < LATENCY_TASKS; i++) {
          const t0 = performance.now();
          await runRaw(i);
          lat.push(performance.now() - t0);
        }
        return median(lat);
      }),
    );
    await events.close();
    await queue.close();
    await stopChild(rawWorker);
    const rate = (v: number) => `${Math.round(v).toLocaleString('en-US')} tasks/s`;
    section.add(`### ClusterExecutor: one worker process, concurrency ${CONCURRENCY}, loopback Redis (median of ${REPS})`).table(
      ['', 'threadkit `ClusterExecutor` + `threadkit worker`', 'raw BullMQ `Queue.add` + `Worker`', 'threadkit ÷ raw (time)'],
      [
        [`throughput, ${TASKS} tiny tasks submitted at once`, rate(tkThroughput), rate(rawThroughput), ratio(1 / tkThroughput, 1 / rawThroughput)],
        [`latency, one task at a time (median of ${LATENCY_TASKS})`, ms(tkLatency), ms(rawLatency), ratio(tkLatency, rawLatency)],
      ],
    );
  });
} finally {
  admin.disconnect();
  stopAll();
  await new Promise((r) => setTimeout(r, 200));
  rmSync(dir, { recursive: true, force: true });
}

section.print();
process.exit(0);
