/**
 * `ClusterExecutor`: the executor of `ThreadPoolExecutor`/`ProcessPoolExecutor` whose workers are
 * `threadkit worker` processes on any number of machines, with tasks in BullMQ.
 *
 * ```ts
 * // tasks.ts — deployed on every machine
 * export function square(x: number) { return x * x; }
 * // main.ts
 * await using executor = new ClusterExecutor({ redis: 'redis://10.0.0.5:6379', queue: 'squares' });
 * console.log(await executor.submit(square, 7).result());   // 49, computed by some worker
 * ```
 * and on each machine: `npx threadkit worker --redis redis://10.0.0.5:6379 --queue squares -j 4`.
 *
 * **Targets** are found as for a local Process (an exported function, looked up from the module
 * that created the executor) and named by package and path, with the SHA-256 of their module: a
 * worker whose copy differs refuses the task with `ModuleMismatchError` (target-ref.ts).
 * **Arguments, results and errors** cross as between processes (payload.ts).
 *
 * **Delivery: at-least-once.** A task runs at least once per attempt that a worker started; a
 * worker killed or paused past its lock (`--lock-ms`) has its task re-run by another worker, and
 * the late worker's result is refused by BullMQ (its lock token no longer matches), so a future
 * settles once, with the result of a run that finished while holding the task. Side effects of a
 * run can happen twice: make them idempotent or fence them (`RedisLock.setIfFence`).
 * **Retries:** `retries` more attempts for a task that throws, `backoffMs` × 2^n apart.
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { InvalidArgumentError, InvalidStateError, ThreadkitError } from '../errors.ts';
import { assertNotBootstrapping } from '../internal/bootstrap.ts';
import type { Future } from '../pool/future.ts';
import { kRunning, kSettle } from '../pool/future.ts';
import { mapZipped, type IterablesFor } from '../pool/map.ts';
import { ClusterFuture, type RemoteCancel } from './cluster-future.ts';
import { BULL_PREFIX, checkQueueName, clusterKeys, MARKER_TTL_MS, type ClusterKeys, type TaskData } from './cluster-jobs.ts';
import { atMost, checkConnectTimeout, checkConnection, connect, unavailable, type Connected, type RedisConnection } from './connection.ts';
import { pack, unpack } from './payload.ts';
import { callerUrl, describeTarget, projectRoot } from './target-ref.ts';

type AnyFunction = (...args: any[]) => unknown;

export interface ClusterExecutorOptions {
  /** A URL (`redis://127.0.0.1:6379`), ioredis options, or an ioredis client (left open by `shutdown()`). */
  redis: RedisConnection;
  /** The BullMQ queue the workers serve (`threadkit worker --queue NAME`). */
  queue: string;
  /** More attempts for a task that throws. Default 0. */
  retries?: number;
  /** Delay before the first retry; each next one doubles it. Default 1000 ms. */
  backoffMs?: number;
  /**
   * How long the first connection to Redis may take. Past it the futures of submitted tasks reject
   * with `RedisUnavailableError` (a connection that was up and drops is waited for without a
   * limit). Default 10 000 ms; `Infinity` waits without end. Not applied to a client you pass.
   */
  connectTimeoutMs?: number;
}

export interface ClusterShutdownOptions {
  /** Wait until every submitted task is done. Default `true`. */
  wait?: boolean;
  /** Cancel the tasks that have not started. Default `false`. */
  cancelFutures?: boolean;
}

export type { IterablesFor } from '../pool/map.ts';

export class ClusterExecutor implements RemoteCancel {
  readonly queueName: string;
  readonly #conn: Connected;
  readonly #queue: Queue;
  #events: QueueEvents | undefined;
  readonly #keys: ClusterKeys;
  readonly #callerUrl: string | undefined;
  readonly #root: string;
  readonly #attempts: number;
  readonly #backoffMs: number;
  readonly #futures = new Map<string, ClusterFuture>();
  readonly #ready: Promise<void>;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Set once shutdown() drops the connections: an event stream not open by then is never opened. */
  #dropping = false;

  constructor(options: ClusterExecutorOptions) {
    // A worker importing a target's module that builds an executor at its top level (no `isMain`
    // guard) would submit to the queue it serves and wait on itself: refuse at once, as a local pool does.
    assertNotBootstrapping('new ClusterExecutor()');
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('new ClusterExecutor() needs options: { redis, queue }.');
    const redis = checkConnection(options.redis, 'ClusterExecutor');
    this.queueName = checkQueueName(options.queue);
    const retries = options.retries ?? 0;
    if (!Number.isInteger(retries) || retries < 0)
      throw new InvalidArgumentError(`Expected \`retries\` to be an integer from 0 up, got \`${String(retries)}\`.`);
    const backoffMs = options.backoffMs ?? 1000;
    if (typeof backoffMs !== 'number' || !(backoffMs >= 0))
      throw new InvalidArgumentError(`Expected \`backoffMs\` to be a number of milliseconds ≥ 0, got \`${String(backoffMs)}\`.`);
    this.#attempts = retries + 1;
    this.#backoffMs = backoffMs;
    this.#callerUrl = callerUrl();
    this.#root = projectRoot(this.#callerUrl);
    this.#keys = clusterKeys(this.queueName);
    this.#conn = connect(redis, `ClusterExecutor for queue "${this.queueName}"`, checkConnectTimeout(options.connectTimeoutMs));
    this.#queue = new Queue(this.queueName, { connection: this.#conn.client, prefix: BULL_PREFIX });
    // Without a listener BullMQ prints every connection error of a Redis outage to the console;
    // they reach the caller as failed commands (RedisUnavailableError) instead.
    this.#queue.on('error', () => {});
    // Jobs are added only once the event stream is read from a known position: QueueEvents starts
    // at '$' (whatever comes after its first read), so an event written between its start and that
    // read would be missed. Starting after the last event already there misses nothing.
    this.#ready = this.#openEvents();
    this.#ready.catch(() => {});
  }

  async #openEvents(): Promise<void> {
    const eventsKey = `${BULL_PREFIX}:${this.queueName}:events`;
    const last = (await this.#conn.client.xrevrange(eventsKey, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
    if (this.#dropping) return;
    const events = new QueueEvents(this.queueName, { connection: this.#conn.duplicate(), prefix: BULL_PREFIX, lastEventId: last[0]?.[0] ?? '0-0' });
    this.#events = events;
    events.on('error', () => {});
    events.on('active', ({ jobId }) => this.#futures.get(jobId)?.[kRunning](true));
    events.on('stalled', ({ jobId }) => this.#futures.get(jobId)?.[kRunning](false));
    events.on('completed', ({ jobId, returnvalue }) => void this.#completed(jobId, returnvalue as unknown));
    events.on('failed', ({ jobId, failedReason }) => void this.#failed(jobId, failedReason));
    await events.waitUntilReady();
  }

  /**
   * Schedules `fn(...args)` on some worker and returns its `Future`. `fn` must be an exported
   * function of a module inside your project; arguments must cross as to a process, and may not
   * hold threadkit shared memory. Throws at once when they cannot, or after `shutdown()`.
   */
  submit<F extends AnyFunction>(fn: F, ...args: Parameters<F>): ClusterFuture<Awaited<ReturnType<F>>> {
    if (this.#closed) throw new InvalidStateError(`submit() after shutdown() of the ClusterExecutor for queue "${this.queueName}".`);
    if (typeof fn !== 'function') throw new InvalidArgumentError(`Expected an exported function to run, got ${fn === null ? 'null' : typeof fn}.`);
    const target = describeTarget(fn);
    const data: TaskData = { v: 1, target, args: pack(args, 'args') };
    const jobId = randomUUID();
    const future = new ClusterFuture<Awaited<ReturnType<F>>>(this, jobId);
    this.#futures.set(jobId, future as ClusterFuture);
    future.addDoneCallback(() => this.#futures.delete(jobId));
    this.#ready
      .then(() => {
        if (future.done()) return;
        return this.#queue.add(target.exportName, data, {
          jobId,
          attempts: this.#attempts,
          backoff: { type: 'exponential', delay: this.#backoffMs },
          removeOnComplete: true,
          removeOnFail: { age: 24 * 3600 },
        });
      })
      .catch((err: unknown) => {
        const what = `Submitting \`${target.exportName}\` to queue "${this.queueName}"`;
        const typed = this.#conn.typed(err, what);
        future[kSettle](false, typed instanceof ThreadkitError ? typed : unavailable(what, err));
      });
    return future;
  }

  /**
   * `fn` over the iterables zipped together: every call is submitted now, results come back in
   * order; a call's error is thrown when the iteration reaches it; leaving early cancels the rest.
   */
  map<P extends unknown[], R>(fn: (...args: P) => R, ...iterables: IterablesFor<P>): AsyncIterableIterator<Awaited<R>> {
    return mapZipped(iterables, (args) => this.submit(fn as AnyFunction, ...args) as Future<Awaited<R>>);
  }

  /** @internal */
  cancelRemote(jobId: string): void {
    const c = this.#conn.client;
    // The marker first: a worker that takes the job after this never runs it; then remove it if it
    // waits, and tell the workers in case one runs it now.
    void c
      .set(this.#keys.cancelled(jobId), '1', 'PX', MARKER_TTL_MS)
      .then(() => this.#queue.remove(jobId).catch(() => 0))
      .then(() => c.publish(this.#keys.cancelChannel, jobId))
      .catch(() => {});
  }

  async #completed(jobId: string, returnvalue: unknown): Promise<void> {
    const future = this.#futures.get(jobId);
    if (!future || future.done()) return;
    try {
      future[kSettle](true, await unpack(String(returnvalue), this.#root));
    } catch (err) {
      future[kSettle](false, err);
    }
  }

  async #failed(jobId: string, failedReason: string): Promise<void> {
    const future = this.#futures.get(jobId);
    if (!future || future.done()) return;
    let error: unknown;
    try {
      const packed = await this.#conn.client.get(this.#keys.error(jobId));
      error = packed ? await unpack(packed, this.#root) : new Error(failedReason);
    } catch (err) {
      error = err;
    }
    future[kSettle](false, error);
  }

  /**
   * Stops taking tasks (later `submit`s throw). With `wait` (default) resolves once every task
   * submitted through this object is done, then closes its connections; with `cancelFutures` the
   * tasks that have not started are cancelled first. Workers keep running: they serve the queue.
   */
  async shutdown({ wait = true, cancelFutures = false }: ClusterShutdownOptions = {}): Promise<void> {
    this.#closed = true;
    if (cancelFutures) for (const f of [...this.#futures.values()]) if (!f.running()) f.cancel();
    const all = [...this.#futures.values()].map((f) => f.exception().catch(() => {}));
    this.#closing ??= (async () => {
      await Promise.all(all);
      // A Redis never reached leaves #ready pending; shutdown() still ends.
      await atMost(2000, this.#ready);
      this.#dropping = true;
      // Bounded: BullMQ's close waits for an 'end' event that ioredis never emits for a client
      // disconnected while it waits to reconnect, so with Redis gone it would wait forever and
      // keep the process alive. After two seconds our own connections are dropped regardless.
      await Promise.all([atMost(2000, this.#events?.close()), atMost(2000, this.#queue.close())]);
      await this.#conn.close();
    })();
    if (wait) await this.#closing;
    else this.#closing.catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}
