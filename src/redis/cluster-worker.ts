/**
 * `ClusterWorker`: the worker side of `ClusterExecutor`, what `threadkit worker` runs. A BullMQ
 * `Worker` whose processor finds the task's target in this project (refusing a module that differs
 * from the submitter's), rebuilds the arguments, runs the call with `clusterTask()` set, and packs
 * the result or the error.
 *
 * - **Cancel:** a message on the queue's cancel channel aborts the running task's signal
 *   (BullMQ's `cancelJob`); a cancelled task is never retried, and one cancelled before it started
 *   is not run.
 * - **Lock:** BullMQ renews each active job's lock every `lockMs / 2`; a worker that dies or pauses
 *   past `lockMs` loses the job, another worker's stalled check re-queues it, and the late worker's
 *   result is refused (its token no longer matches). Its error record is fenced the same way.
 * - **Drain** (SIGTERM): stop taking tasks, let running ones finish for `drainMs`, then hand the
 *   rest back (moved to waiting, so another worker runs them at once) and stop.
 */
import { Worker, UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { CancelledError, InvalidArgumentError } from '../errors.ts';
import { BULL_PREFIX, checkQueueName, clusterKeys, MARKER_TTL_MS, type ClusterKeys, type TaskData } from './cluster-jobs.ts';
import { taskContext } from './cluster-task.ts';
import { atMost, checkConnectTimeout, checkConnection, connect, type Connected, type RedisConnection } from './connection.ts';
import { pack, packError, unpack } from './payload.ts';
import { loadTarget } from './target-ref.ts';

export interface ClusterWorkerOptions {
  redis: RedisConnection;
  /** The queue to serve. */
  queue: string;
  /** Tasks run at once (async; a task that blocks the event loop blocks the others). Default 1. */
  concurrency?: number;
  /** The project whose modules the targets are in. Default `process.cwd()`. */
  root?: string;
  /** How long a task's lock lasts unrenewed: past it, a stuck worker's task goes to another. Default 30 000 ms. */
  lockMs?: number;
  /** How long the first connection to Redis may take; past it `start()` rejects with `RedisUnavailableError`. Default 10 000 ms. */
  connectTimeoutMs?: number;
}

/** KEYS: BullMQ lock of the job, error key. ARGV: token, packed error, ttl. Writes only while this worker holds the job. */
const FENCED_ERROR = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`;

export class ClusterWorker {
  readonly queueName: string;
  readonly concurrency: number;
  readonly root: string;
  readonly #conn: Connected;
  readonly #keys: ClusterKeys;
  readonly #worker: Worker;
  readonly #sub: Redis;
  readonly #active = new Map<string, { job: Job; token: string }>();
  #draining: Promise<void> | undefined;
  /** Job ids of recent cancel messages (the newest 10 000), for tasks that arrive after their message. */
  readonly #cancelled = new Set<string>();

  constructor(options: ClusterWorkerOptions) {
    const redis = checkConnection(options?.redis, 'ClusterWorker');
    this.queueName = checkQueueName(options.queue);
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new InvalidArgumentError(`Expected \`concurrency\` to be an integer from 1 up, got \`${String(concurrency)}\`.`);
    const lockMs = options.lockMs ?? 30_000;
    if (!Number.isInteger(lockMs) || lockMs < 200)
      throw new InvalidArgumentError(`Expected \`lockMs\` to be an integer from 200 up, got \`${String(lockMs)}\`.`);
    this.concurrency = concurrency;
    this.root = options.root ?? process.cwd();
    this.#keys = clusterKeys(this.queueName);
    this.#conn = connect(redis, `ClusterWorker for queue "${this.queueName}"`, checkConnectTimeout(options.connectTimeoutMs));
    this.#conn.client.defineCommand('tkFencedError', { numberOfKeys: 2, lua: FENCED_ERROR });
    this.#worker = new Worker(this.queueName, (job, token, signal) => this.#process(job, token!, signal!), {
      connection: this.#conn.duplicate(),
      prefix: BULL_PREFIX,
      concurrency,
      lockDuration: lockMs,
      stalledInterval: Math.max(100, Math.floor(lockMs / 2)),
      maxStalledCount: 5,
      autorun: false,
    });
    this.#worker.on('error', () => {});
    this.#sub = this.#conn.duplicate();
    this.#sub.on('message', (_channel: string, jobId: string) => {
      this.#cancelled.add(jobId);
      if (this.#cancelled.size > 10_000) this.#cancelled.delete(this.#cancelled.values().next().value!);
      this.#worker.cancelJob(jobId, 'cancelled');
    });
  }

  /** Connects, subscribes to the cancel channel and starts taking tasks; resolves once it is ready. */
  async start(): Promise<void> {
    try {
      await this.#sub.subscribe(this.#keys.cancelChannel);
      void this.#worker.run().catch(() => {});
      await this.#worker.waitUntilReady();
    } catch (err) {
      throw this.#conn.failure ?? this.#conn.typed(err, `ClusterWorker for queue "${this.queueName}" start`);
    }
  }

  /** Tasks running now. */
  get running(): number {
    return this.#active.size;
  }

  async #process(job: Job, token: string, signal: AbortSignal): Promise<string> {
    const data = job.data as TaskData;
    const id = job.id!;
    // A cancel message seen before the task got here; or, for a task that ran before (a retry, or its
    // worker died), the marker, since the message may have gone to that worker. A first attempt
    // skips the round trip: the message reaches this worker before or while it runs the task.
    if (this.#cancelled.has(id) || ((job.attemptsStarted > 1 || job.stalledCounter > 0) && (await this.#conn.client.exists(this.#keys.cancelled(id))))) {
      throw await this.#cancel(id, token, 'The task was cancelled before it started.');
    }
    this.#active.set(id, { job, token });
    try {
      let fn: Function;
      let args: unknown[];
      try {
        fn = await loadTarget(data.target, this.root);
        args = (await unpack(data.args, this.root)) as unknown[];
      } catch (err) {
        // Another attempt here would fail the same way: fail the task now, with the reason.
        await this.#recordError(id, token, err);
        throw new UnrecoverableError(`${(err as Error).name}: ${(err as Error).message}`);
      }
      const task = { id, attempt: job.attemptsMade + 1, signal };
      let result: unknown;
      try {
        result = await taskContext.run(task, () => fn(...args));
      } catch (err) {
        if (signal.aborted) throw await this.#cancel(id, token, 'The task was cancelled while it ran.');
        await this.#recordError(id, token, err);
        throw new Error(`${(err as Error)?.name ?? 'Error'}: ${(err as Error)?.message ?? String(err)}`);
      }
      if (signal.aborted) throw await this.#cancel(id, token, 'The task was cancelled while it ran.');
      try {
        return pack(result, 'result');
      } catch (err) {
        await this.#recordError(id, token, err);
        throw new UnrecoverableError(`${(err as Error).name}: ${(err as Error).message}`);
      }
    } finally {
      this.#active.delete(id);
    }
  }

  /**
   * The failure of a task that stopped because it was cancelled (or handed back by a drain: then
   * this worker no longer holds it, and nothing is recorded). A cancel is recorded as threadkit's
   * `CancelledError`, which the submitter recognises by the codec's mark, not by a message.
   */
  async #cancel(jobId: string, token: string, message: string): Promise<UnrecoverableError> {
    if (this.#cancelled.has(jobId) || (await this.#conn.client.exists(this.#keys.cancelled(jobId)).catch(() => 0))) {
      await this.#recordError(jobId, token, new CancelledError(message));
    }
    return new UnrecoverableError(message);
  }

  async #recordError(jobId: string, token: string, err: unknown): Promise<void> {
    const client = this.#conn.client as Redis & { tkFencedError(lock: string, key: string, token: string, packed: string, ttl: number): Promise<number> };
    // If Redis does not take it, the submitter gets BullMQ's failedReason (name and message) instead.
    await client.tkFencedError(this.#keys.bullLock(jobId), this.#keys.error(jobId), token, packError(err), MARKER_TTL_MS).catch(() => {});
  }

  /**
   * Stops taking tasks and lets the running ones finish; after `timeoutMs` (default 30 000) hands
   * back the ones still running — moved to waiting for another worker — aborts their signals, and
   * closes. Resolves once closed. Calling it again returns the same promise.
   */
  drain({ timeoutMs = 30_000 }: { timeoutMs?: number } = {}): Promise<void> {
    this.#draining ??= (async () => {
      const closed = this.#worker.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([closed.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)))]);
      clearTimeout(timer);
      if (late) {
        // Bounded too: with Redis unreachable nothing can be handed back; the locks run out and the
        // stalled check of another worker re-queues the tasks.
        const handBack = Promise.allSettled([...this.#active.values()].map(({ job, token }) => job.moveToWait(token)));
        await atMost(5000, handBack);
        this.#worker.cancelAllJobs('handed back: the worker is draining');
        await atMost(5000, this.#worker.close(true));
      }
      this.#sub.disconnect();
      await atMost(2000, this.#conn.close());
    })();
    return this.#draining;
  }

  /** Stops at once: running tasks are abandoned and come back to other workers after `lockMs`. */
  async close(): Promise<void> {
    this.#worker.cancelAllJobs('the worker is closing');
    // Bounded: with Redis gone BullMQ's close can wait for an 'end' that never comes.
    await atMost(2000, this.#worker.close(true));
    this.#sub.disconnect();
    await this.#conn.close();
  }
}
