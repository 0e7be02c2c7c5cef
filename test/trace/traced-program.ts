// A program run with THREADKIT_TRACE set by the recording tests: Threads contend for a named
// Lock, one waits on a Queue, one throws, a Process and a pool run too.
import { Event, Lock, Pool, Process, Queue, Thread, isMain, trace } from 'threadkit';

export async function contend(lock: Lock, n: number): Promise<number> {
  await trace.span(`contend ${n}`, async () => {
    await lock.acquire();
    try {
      await new Promise((r) => setTimeout(r, 15));
    } finally {
      lock.release();
    }
  });
  trace.mark('contended', { n });
  return n;
}

export async function consume(queue: Queue<number>, waiting: Event): Promise<number> {
  waiting.set(); // the get below starts in this same turn, before main can put
  return queue.get({ timeoutMs: 20_000 });
}

export function fail(): never {
  throw new Error('this Thread fails on purpose');
}

export function inChild(): number {
  trace.mark('in the child process');
  return process.pid;
}

export function square(x: number): number {
  return x * x;
}

if (isMain(import.meta)) {
  const lock = new Lock({ name: 'shared' });
  const queue = new Queue<number>({ name: 'jobs' });
  const threads = [0, 1, 2, 3].map((n) => new Thread({ target: contend, args: [lock, n], name: `Contender-${n}` }));
  const waiting = new Event();
  const consumer = new Thread({ target: consume, args: [queue, waiting], name: 'Consumer' });
  const failing = new Thread({ target: fail, name: 'Failing' });
  for (const t of [...threads, consumer, failing]) t.start();
  await trace.span('main waits', () => new Promise((r) => setTimeout(r, 50)));
  for (const t of [...threads, failing]) await t.join(30_000);
  // The consumer is on its get (however late its Thread began): it waits 30 ms more at least.
  if (!(await waiting.wait({ timeoutMs: 20_000 }))) throw new Error('the consumer never began');
  await new Promise((r) => setTimeout(r, 30));
  trace.mark('put');
  await queue.put(42);
  await consumer.join(30_000);
  const child = new Process({ target: inChild, name: 'Child' });
  child.start();
  await child.join(30_000);
  const pool = new Pool({ processes: 2, kind: 'thread' });
  await pool.map(square, [1, 2, 3]);
  pool.close();
  await pool.join();
  console.log(JSON.stringify({ exitCodes: [...threads, consumer, failing, child].map((t) => t.exitCode), childPid: child.pid }));
}
