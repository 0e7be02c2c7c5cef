/**
 * `threadkit bank --redis URL`: the seed's account race past one machine. The balance lives in
 * Redis; depositors are separate processes (standing in for machines), each with its own
 * connection. Three runs:
 *
 * - **no lock**: read, wait, write — concurrent deposits overwrite each other;
 * - **lease**: each deposit under a `RedisLock`, but one holder stalls past its lease between its
 *   read and its write (as a GC pause or SIGSTOP would): another client takes the lock meanwhile, and
 *   the stalled holder's late write still overwrites its deposit;
 * - **fenced**: the same stall, but the write is `setIfFence`: Redis refuses the stale write, the
 *   stalled depositor starts its deposit over, and the balance is exact.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { LockOwnerDiedError, Process } from 'threadkit';
import { LeaseLostError, RedisLock, StaleFenceError } from 'threadkit/redis';
import { integerOption, parseCommandLine, redisUrlOption } from '../options.ts';

const USAGE = `Usage: threadkit bank --redis URL [options]

The seed's bank account race across processes that stand in for machines, the balance in Redis:
no lock (updates lost), a lease lock whose holder stalls past its lease (an update still lost),
and the lease with a fencing token (exact).

Options:
  --redis URL      the Redis server, e.g. redis://127.0.0.1:6379
  --processes P    depositor processes (default 3)
  --deposits D     deposits per process (default 10)
  --delay MS       time between reading and writing the balance (default 5)
  --lease MS       the lock's lease; the stalled holder stalls 3 leases (default 300)
  --json           print one JSON object per run: {"run","expected","actual","lost","refused","takeovers","ms"}
  -h, --help       show this help`;

type Run = 'none' | 'lease' | 'fenced';

const stallSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * A depositor process: `deposits` deposits of 1 to the balance of run `id`. The first depositor
 * to hold the lock stalls once, holding it: the others then still have every deposit to make, so
 * some are made during the stall however the processes are scheduled. (Depositor 0 used to stall;
 * on a loaded machine it could get the lock only after the others had finished, and lose nothing.)
 */
export async function depositRemote(url: string, id: string, run: Run, deposits: number, delayMs: number, leaseMs: number): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const key = `tk:bank:{${id}}:balance`;
  const lock = new RedisLock({ redis, name: `bank-${id}`, leaseMs });
  let stall: boolean | undefined = run === 'none' ? false : undefined; // decided at the first hold
  try {
    // Start together: the processes take a while to start, and a race needs them running at once.
    await redis.incr(`tk:bank:{${id}}:ready`);
    await redis.blpop(`tk:bank:{${id}}:go`, 30);
    for (let i = 0; i < deposits; ) {
      if (run === 'none') {
        const balance = Number(await redis.get(key));
        await sleep(delayMs);
        await redis.set(key, String(balance + 1));
        i++;
        continue;
      }
      let acquired: boolean;
      try {
        acquired = await lock.acquire({ timeoutMs: 30_000 });
      } catch (err) {
        if (!(err instanceof LockOwnerDiedError)) throw err;
        // The stalled holder's lease ran out: this demo knows the balance is whole; take over.
        await redis.incr(`tk:bank:{${id}}:takeovers`);
        await lock.recover();
        continue;
      }
      if (!acquired) throw new Error('could not acquire the lock within 30 s');
      stall ??= (await redis.set(`tk:bank:{${id}}:stalled`, '1', 'NX')) === 'OK';
      const fence = lock.fence!;
      const balance = Number(await redis.get(key));
      await sleep(delayMs);
      if (lock.signal!.aborted) {
        await lock.release().catch(() => {});
        continue; // a careful holder checks its lease before writing…
      }
      if (stall) {
        stall = false;
        stallSync(leaseMs * 3); // …and then pauses right after the check, as a GC pause or SIGSTOP would.
      }
      try {
        if (run === 'fenced') await lock.setIfFence(key, String(balance + 1), fence);
        else await redis.set(key, String(balance + 1));
        i++;
      } catch (err) {
        if (!(err instanceof StaleFenceError)) throw err;
        await redis.incr(`tk:bank:{${id}}:refused`); // refused by Redis: start this deposit over
      }
      await lock.release().catch((err: unknown) => {
        if (!(err instanceof LeaseLostError)) throw err;
      });
    }
  } finally {
    await lock.close();
    redis.disconnect();
  }
}

export interface RemoteBankRun {
  run: Run;
  expected: number;
  actual: number;
  lost: number;
  refused: number;
  takeovers: number;
  ms: number;
}

export async function simulateRemote(url: string, run: Run, processes: number, deposits: number, delayMs: number, leaseMs: number): Promise<RemoteBankRun> {
  const id = randomUUID().slice(0, 8);
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  const base = `tk:bank:{${id}}`;
  try {
    await redis.set(`${base}:balance`, '0');
    const start = performance.now();
    const workers = Array.from({ length: processes }, () => new Process({ target: depositRemote, args: [url, id, run, deposits, delayMs, leaseMs] }));
    for (const p of workers) p.start();
    const deadline = Date.now() + 30_000;
    while (Number(await redis.get(`${base}:ready`)) < processes && Date.now() < deadline && workers.every((p) => p.exitCode === null)) await sleep(20);
    await redis.rpush(`${base}:go`, ...workers.map(() => 'go'));
    for (const p of workers) await p.join();
    const failed = workers.find((p) => p.exitCode !== 0);
    if (failed) throw new Error(`A depositor process failed (exit code ${failed.exitCode}): ${(failed.error as Error)?.message ?? failed.error}`);
    const ms = Math.round((performance.now() - start) * 10) / 10;
    const [actual, refused, takeovers] = (await redis.mget(`${base}:balance`, `${base}:refused`, `${base}:takeovers`)).map(Number);
    const expected = processes * deposits;
    return { run, expected, actual: actual!, lost: expected - actual!, refused: refused!, takeovers: takeovers!, ms };
  } finally {
    await redis
      .del(
        `${base}:balance`,
        `${base}:refused`,
        `${base}:takeovers`,
        `${base}:ready`,
        `${base}:go`,
        `${base}:stalled`,
        `tk:lock:{bank-${id}}`,
        `tk:lock:{bank-${id}}:meta`,
      )
      .catch(() => 0);
    redis.disconnect();
  }
}

const LABEL: Record<Run, string> = {
  none: 'no lock',
  lease: 'a lease lock, its holder stalled past the lease',
  fenced: 'a lease lock with a fencing token, the same stall',
};

function describe(r: RemoteBankRun, processes: number): string {
  const verdict = r.lost === 0 ? 'no update lost' : `${r.lost} of ${r.expected} deposits lost`;
  const extra = [r.takeovers ? `${r.takeovers} takeover(s) after the lease ran out` : '', r.refused ? `${r.refused} stale write(s) refused by Redis` : '']
    .filter(Boolean)
    .join(', ');
  return `${processes} processes, ${LABEL[r.run]}: expected ￥${r.expected}, actual ￥${r.actual} — ${verdict}${extra ? ` (${extra})` : ''} (${r.ms} ms)`;
}

export async function run(argv: string[]): Promise<number> {
  const o = parseCommandLine(
    { command: 'bank', usage: USAGE, helpHint: 'threadkit bank --redis URL --help' },
    argv,
    {
      redis: { type: 'string' },
      processes: { type: 'string' },
      deposits: { type: 'string' },
      delay: { type: 'string' },
      lease: { type: 'string' },
      json: { type: 'boolean' },
    },
    (values) => ({
      url: redisUrlOption(values.redis),
      processes: integerOption('processes', values.processes, 3, 2),
      deposits: integerOption('deposits', values.deposits, 10, 1),
      delay: integerOption('delay', values.delay, 5, 0),
      lease: integerOption('lease', values.lease, 300, 100),
      json: values.json ?? false,
    }),
  );
  if (typeof o === 'number') return o;
  const probe = new Redis(o.url, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    console.error(`threadkit bank: cannot reach Redis at ${o.url}: ${(err as Error).message}. Start one (redis-server) or pass its URL.`);
    return 1;
  } finally {
    probe.disconnect();
  }
  for (const r of ['none', 'lease', 'fenced'] as const) {
    const result = await simulateRemote(o.url, r, o.processes, o.deposits, o.delay, o.lease);
    console.log(o.json ? JSON.stringify(result) : describe(result, o.processes));
  }
  return 0;
}
