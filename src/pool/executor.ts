/**
 * `ThreadPoolExecutor` and `ProcessPoolExecutor` (Python's `concurrent.futures`): submit calls of
 * exported functions, get `Future`s back.
 *
 * ```ts
 * export function square(x: number) { return x * x; }
 * await using executor = new ProcessPoolExecutor({ maxWorkers: 4 });
 * const future = executor.submit(square, 7);
 * console.log(await future.result());              // 49
 * for await (const y of executor.map(square, [1, 2, 3])) console.log(y);
 * ```
 * Both run the same engine (see dispatcher.ts); they differ only in where a worker lives: a
 * worker thread (memory shared through threadkit's primitives) or a child process.
 */
import { assertNotBootstrapping } from '../internal/bootstrap.ts';
import { encoded, encodePayload, resolveTarget, type AnyFunction } from './call.ts';
import { Dispatcher, type PoolStats } from './dispatcher.ts';
import type { Future } from './future.ts';
import { mapZipped, type IterablesFor } from './map.ts';
import { dispatcherOptions, refuseUnknownWorkerOptions, type WorkerOptions } from './options.ts';
import { Mode } from './worker-messages.ts';
import type { WorkerKind } from '../workers/worker-handle.ts';

export interface ExecutorOptions<I extends AnyFunction = AnyFunction> extends WorkerOptions<I> {
  /** The most workers run at once. Default `os.availableParallelism()`. */
  maxWorkers?: number;
  /** A worker is replaced after this many tasks (Python's `max_tasks_per_child`). Default `Infinity`. */
  maxTasksPerWorker?: number;
}

export interface ShutdownOptions {
  /** Wait until running and queued tasks are done and the workers have exited. Default `true`. */
  wait?: boolean;
  /** Cancel the tasks that have not started (their futures reject with `CancelledError`). Running ones finish. Default `false`. */
  cancelFutures?: boolean;
}

export type { IterablesFor } from './map.ts';

export abstract class Executor {
  readonly #pool: Dispatcher;
  readonly #kind: WorkerKind;
  readonly #taskTimeoutMs: number;

  constructor(kind: WorkerKind, options: ExecutorOptions = {}) {
    this.#kind = kind;
    assertNotBootstrapping(`new ${kind === 'thread' ? 'ThreadPoolExecutor' : 'ProcessPoolExecutor'}()`);
    const what = kind === 'thread' ? 'ThreadPoolExecutor' : 'ProcessPoolExecutor';
    if (options !== null && typeof options === 'object') refuseUnknownWorkerOptions(options, ['maxWorkers', 'maxTasksPerWorker'], `new ${what}()`);
    const opts = dispatcherOptions(kind, options, { minWorkers: 0, name: what });
    this.#taskTimeoutMs = opts.taskTimeoutMs;
    this.#pool = new Dispatcher(opts);
  }

  /**
   * Schedules `fn(...args)` and returns its `Future` (Python's `submit`). `fn` must be an exported
   * function (sync or async); the arguments cross as for a `Process`. Throws at once when `fn` or
   * an argument cannot cross, or after `shutdown()`; an argument only structured clone refuses
   * (inside a Proxy, say) fails the future with `NotCloneableError` when it is sent.
   */
  submit<F extends AnyFunction>(fn: F, ...args: Parameters<F>): Future<Awaited<ReturnType<F>>> {
    const ref = resolveTarget(fn);
    const payload = encodePayload(Mode.CALL, args, this.#kind);
    return this.#pool.submit(ref, encoded.mode, payload, this.#taskTimeoutMs);
  }

  /**
   * `fn` over the iterables zipped together (Python's `map`): every call is submitted now, and the
   * results come back in order. A call's error is thrown when the iteration reaches it; leaving the
   * loop early (or an error) cancels the calls that have not started.
   */
  map<P extends unknown[], R>(fn: (...args: P) => R, ...iterables: IterablesFor<P>): AsyncIterableIterator<Awaited<R>> {
    return mapZipped(iterables, (args) => this.submit(fn, ...(args as P)));
  }

  /**
   * Stops taking tasks (later `submit`s throw). With `wait` (default) resolves once every task has
   * finished and the workers have exited; with `cancelFutures` the queued tasks are cancelled
   * first. Python's `shutdown(wait, cancel_futures)`.
   */
  async shutdown({ wait = true, cancelFutures = false }: ShutdownOptions = {}): Promise<void> {
    this.#pool.close();
    if (cancelFutures) this.#pool.cancelQueued('The executor was shut down before the task started.');
    const joined = this.#pool.join();
    if (wait) await joined;
    else joined.catch(() => {});
  }

  /** Workers alive, busy and started, and tasks queued. */
  stats(): PoolStats {
    return this.#pool.stats();
  }

  /** `await using executor = …`: `shutdown({ wait: true })` at the end of the scope, as Python's `with`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

/** An executor whose workers are worker threads (Python's `ThreadPoolExecutor`, with real parallelism). */
export class ThreadPoolExecutor extends Executor {
  constructor(options: ExecutorOptions = {}) {
    super('thread', options);
  }
}

/** An executor whose workers are child processes (Python's `ProcessPoolExecutor`). */
export class ProcessPoolExecutor extends Executor {
  constructor(options: ExecutorOptions = {}) {
    super('process', options);
  }
}
