/**
 * `threadkit worker --redis URL --queue NAME -j N`: serves a ClusterExecutor's queue from this
 * machine until SIGTERM or SIGINT, which drain it (stop taking, finish or hand back, exit 0).
 *
 * Exit codes: 0 drained, 2 bad usage, 1 Redis could not be reached.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';

const USAGE = `Usage: threadkit worker --redis URL --queue NAME [options]

Runs the tasks a ClusterExecutor submits to queue NAME, in this project (import { ClusterExecutor }
from 'threadkit/redis'). Start one on every machine; each must have the same code as the submitter
(a task whose module differs is refused). SIGTERM or Ctrl-C drains: no new tasks, running ones
finish (or are handed back to other workers after --drain-ms), then it exits.

Options:
  --redis URL        the Redis server, e.g. redis://127.0.0.1:6379
  --queue NAME       the queue to serve
  -j, --jobs N       tasks run at once (default 1; async tasks share this process)
  --root DIR         the project the targets are in (default: the working directory)
  --lock-ms MS       a task's lock; a worker stuck past it loses the task to another (default 30000)
  --drain-ms MS      how long a drain waits for running tasks before handing them back (default 30000)
  -h, --help         show this help`;

class UsageError extends Error {}

function int(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer from ${min} up, got '${text}'.`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  let options;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        redis: { type: 'string' },
        queue: { type: 'string' },
        jobs: { type: 'string', short: 'j' },
        root: { type: 'string' },
        'lock-ms': { type: 'string' },
        'drain-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!values.redis || !/^rediss?:\/\//.test(values.redis))
      throw new UsageError(`--redis must be a URL such as redis://127.0.0.1:6379${values.redis ? `, got '${values.redis}'` : ''}.`);
    if (!values.queue || !/^[A-Za-z0-9_.-]+$/.test(values.queue))
      throw new UsageError(`--queue must be a name of letters, digits, '_', '.' or '-'${values.queue ? `, got '${values.queue}'` : ''}.`);
    options = {
      redis: values.redis,
      queue: values.queue,
      concurrency: int('jobs', values.jobs, 1, 1),
      root: resolve(values.root ?? '.'),
      lockMs: int('lock-ms', values['lock-ms'], 30_000, 200),
      drainMs: int('drain-ms', values['drain-ms'], 30_000, 0),
    };
  } catch (err) {
    console.error(`threadkit worker: ${(err as Error).message}\nRun 'threadkit worker --help' for the options.`);
    return 2;
  }

  let mod;
  try {
    mod = await import('../../redis/cluster-worker.ts');
  } catch (err) {
    console.error(`threadkit worker: needs the optional peer dependencies bullmq and ioredis (npm install bullmq ioredis): ${(err as Error).message}`);
    return 2;
  }
  const { drainMs: _drainMs, ...workerOptions } = options;
  const worker = new mod.ClusterWorker(workerOptions);
  let stop!: (signal: string) => void;
  const stopped = new Promise<string>((r) => (stop = r));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const ready = worker.start().then(
    () => true,
    (err: unknown) => {
      console.error(`threadkit worker: cannot serve queue "${options.queue}" on ${options.redis}: ${(err as Error).message}`);
      return false;
    },
  );
  const first = await Promise.race([ready, stopped]);
  if (first === false) {
    await worker.close();
    return 1;
  }
  if (first === true)
    console.log(
      `threadkit worker ${process.pid}: serving queue "${options.queue}" on ${options.redis} with ${options.concurrency} at once (root ${options.root})`,
    );
  const signal = first === true ? await stopped : first;
  console.log(`threadkit worker ${process.pid}: ${signal}: draining ${worker.running} running task(s) (up to ${options.drainMs} ms)`);
  await worker.drain({ timeoutMs: options.drainMs });
  console.log(`threadkit worker ${process.pid}: drained`);
  // With Redis gone, a client's reconnect timer can outlive the drain: exit regardless, soon.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}
