/**
 * `threadkit worker --redis URL --queue NAME -j N`: serves a ClusterExecutor's queue from this
 * machine until SIGTERM, SIGINT or SIGHUP (a closed terminal), which drain it (stop taking, finish or hand back, exit 0).
 *
 * Exit codes: 0 drained, 2 bad usage, 1 Redis could not be reached.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { integerOption, parseCommandLine, queueNameOption, redisUrlOption, UsageError } from '../options.ts';
import { STOP_SIGNALS } from '../signals.ts';

const USAGE = `Usage: threadkit worker --redis URL --queue NAME [options]

Runs the tasks a ClusterExecutor submits to queue NAME, in this project (import { ClusterExecutor }
from 'threadkit/redis'). Start one on every machine; each must have the same code as the submitter
(a task whose module differs is refused). SIGTERM, Ctrl-C or a closed terminal (SIGHUP) drains:
no new tasks, running ones finish (or are handed back to other workers after --drain-ms), then it
exits.

Options:
  --redis URL        the Redis server, e.g. redis://127.0.0.1:6379
  --queue NAME       the queue to serve
  -j, --jobs N       tasks run at once (default 1; async tasks share this process)
  --root DIR         the project the targets are in (default: the working directory)
  --lock-ms MS       a task's lock; a worker stuck past it loses the task to another (default 30000)
  --drain-ms MS      how long a drain waits for running tasks before handing them back (default 30000)
  -h, --help         show this help`;

export async function run(argv: string[]): Promise<number> {
  const options = parseCommandLine(
    { command: 'worker', usage: USAGE },
    argv,
    {
      redis: { type: 'string' },
      queue: { type: 'string' },
      jobs: { type: 'string', short: 'j' },
      root: { type: 'string' },
      'lock-ms': { type: 'string' },
      'drain-ms': { type: 'string' },
    },
    (values) => ({
      redis: redisUrlOption(values.redis),
      queue: queueNameOption(values.queue),
      concurrency: integerOption('jobs', values.jobs, 1, 1),
      root: rootOption(values.root),
      lockMs: integerOption('lock-ms', values['lock-ms'], 30_000, 200),
      drainMs: integerOption('drain-ms', values['drain-ms'], 30_000, 0),
    }),
  );
  if (typeof options === 'number') return options;

  let mod;
  try {
    mod = await import('threadkit/redis');
  } catch (err) {
    console.error(`threadkit worker: needs the optional peer dependencies bullmq and ioredis (npm install bullmq ioredis): ${(err as Error).message}`);
    return 2;
  }
  const { drainMs: _drainMs, ...workerOptions } = options;
  const worker = new mod.ClusterWorker(workerOptions);
  let stop!: (signal: string) => void;
  const stopped = new Promise<string>((r) => (stop = r));
  for (const signal of STOP_SIGNALS) process.once(signal, () => stop(signal));
  const ready = worker.start().then(
    () => true,
    (err: unknown) => {
      console.error(`threadkit worker: cannot serve queue "${options.queue}" on ${options.redis}: ${(err as Error).message}`);
      return false;
    },
  );
  const first = await Promise.race([ready, stopped]);
  if (first === false) {
    // A connection that never came up may leave a reconnect timer behind: exit regardless, soon.
    setTimeout(() => process.exit(1), 2000).unref();
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

/** `--root`: a folder that is there, or bad usage (every task would fail to find its module). */
function rootOption(value: string | undefined): string {
  const root = resolve(value ?? '.');
  let isFolder = false;
  try {
    isFolder = statSync(root).isDirectory();
  } catch {
    // missing: refused below
  }
  if (!isFolder)
    throw new UsageError(
      `--root must be the folder of the project the targets are in; '${root}' is ${value === undefined ? 'not a folder' : 'not a folder that exists'}.`,
    );
  return root;
}
