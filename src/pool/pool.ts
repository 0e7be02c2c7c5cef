/**
 * `Pool`: Python's `multiprocessing.Pool` — a fixed set of workers that maps a function over
 * data.
 *
 * ```ts
 * export function square(x: number) { return x * x; }
 * await using pool = new Pool({ processes: 4 });
 * console.log(await pool.map(square, [1, 2, 3]));   // [1, 4, 9]
 * ```
 * Workers are child processes by default, as in Python (`kind: 'thread'` for worker threads).
 * Tasks travel to the workers in batches sized by how long they take, so `chunksize` is rarely
 * needed for speed: it makes several items one task (one failure, one result message).
 */
import { InvalidArgumentError } from '../errors.ts';
import { assertNotBootstrapping } from '../internal/bootstrap.ts';
import { checkCount, checkDuration, encoded, encodePayload, resolveTarget, type AnyFunction } from './call.ts';
import { Dispatcher, type PoolStats } from './dispatcher.ts';
import type { Future } from './future.ts';
import { dispatcherOptions, refuseUnknownWorkerOptions, type WorkerOptions } from './options.ts';
import { Mode } from './worker-messages.ts';
import type { WorkerKind } from '../workers/worker-handle.ts';

export interface PoolOptions<I extends AnyFunction = AnyFunction> extends WorkerOptions<I> {
  /** How many workers. Default `os.availableParallelism()`. All start with the pool unless `minWorkers` is lower. */
  processes?: number;
  /** `'process'` (default, as Python's `Pool`) or `'thread'` (Python's `multiprocessing.pool.ThreadPool`, with real parallelism). */
  kind?: WorkerKind;
  /** A worker is replaced after this many tasks (Python's `maxtasksperchild`). Default `Infinity`. */
  maxTasksPerChild?: number;
}

export interface MapOptions {
  /**
   * Items per task; larger makes a chunk fail or succeed as one. Unset (the default), one item per
   * task and the pool batches tasks by the time they take. Set, even to 1, it is a hard rule, as
   * in Python: each task goes on its own to a free worker, never queued behind another on a busy
   * one (tiny tasks then pay a round trip each).
   */
  chunksize?: number;
}

export interface ApplyOptions<R = unknown> {
  /** This call's time limit from when it starts; see `taskTimeoutMs`. */
  timeoutMs?: number;
  /** Called with the result when the call succeeds (Python's `callback`). */
  callback?: (result: R) => void;
  /** Called with the error when the call fails or is cancelled (Python's `error_callback`). */
  errorCallback?: (error: unknown) => void;
}

export class Pool {
  readonly #pool: Dispatcher;
  readonly #kind: WorkerKind;
  readonly #taskTimeoutMs: number;
  readonly #processes: number;

  constructor(options: PoolOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(`Expected an options object, got ${options === null ? 'null' : typeof options}.`);
    refuseUnknownWorkerOptions(options, ['processes', 'kind', 'maxTasksPerChild'], 'new Pool()');
    const kind = options.kind ?? 'process';
    if (kind !== 'process' && kind !== 'thread') throw new InvalidArgumentError(`Expected \`kind\` to be 'process' or 'thread', got ${JSON.stringify(kind)}.`);
    this.#kind = kind;
    assertNotBootstrapping(`new Pool()`);
    const opts = dispatcherOptions(
      kind,
      { ...options, maxWorkers: options.processes, maxTasksPerWorker: options.maxTasksPerChild },
      { minWorkers: 'all', name: 'Pool' },
    );
    this.#processes = opts.maxWorkers;
    this.#taskTimeoutMs = opts.taskTimeoutMs;
    this.#pool = new Dispatcher(opts);
  }

  /**
   * Calls `fn(...args)` in a worker and returns its `Future` (Python's `apply_async`; the future
   * is its `AsyncResult`). Throws at once when `fn` or an argument cannot cross, or after `close()`;
   * an argument only structured clone refuses (inside a Proxy, say) fails the future with
   * `NotCloneableError` when it is sent. `args` is copied now, as Python takes a tuple.
   */
  applyAsync<F extends AnyFunction>(fn: F, args: Parameters<F>, options: ApplyOptions<Awaited<ReturnType<F>>> = {}): Future<Awaited<ReturnType<F>>> {
    if (!Array.isArray(args)) throw new InvalidArgumentError(`Expected \`args\` to be an array (Python's tuple), got ${typeof args}.`);
    const { timeoutMs = this.#taskTimeoutMs, callback, errorCallback } = options;
    checkDuration(timeoutMs, 'timeoutMs');
    // A copy, as Python's tuple: what the task gets is what `args` held now, read once (a Proxy too).
    const future = this.#submit(fn, Mode.CALL, [...args], timeoutMs) as Future<Awaited<ReturnType<F>>>;
    if (callback || errorCallback) {
      future.addDoneCallback((f) => {
        f.result()
          .then(
            (value) => callback?.(value),
            (err: unknown) => errorCallback?.(err),
          )
          .catch((err: unknown) => process.stderr.write(`threadkit: exception in a Pool callback\n${err instanceof Error ? err.stack : String(err)}\n`));
      });
    }
    return future;
  }

  /** `fn(...args)` in a worker, awaited (Python's `apply`). Rejects with what the call threw. */
  apply<F extends AnyFunction>(fn: F, args: Parameters<F>, options: Pick<ApplyOptions, 'timeoutMs'> = {}): Promise<Awaited<ReturnType<F>>> {
    return this.applyAsync(fn, args, { timeoutMs: options.timeoutMs }).result();
  }

  /** `fn` over every item, results in order (Python's `map`). Rejects with the first failing item's error, in order. */
  async map<T, R>(fn: (item: T) => R, iterable: Iterable<T>, options: MapOptions = {}): Promise<Awaited<R>[]> {
    const out: Awaited<R>[] = [];
    for await (const value of this.imap(fn, iterable, options)) out.push(value);
    return out;
  }

  /** `fn(...args)` for every tuple of arguments, results in order (Python's `starmap`). */
  async starmap<F extends AnyFunction>(fn: F, iterable: Iterable<Parameters<F>>, options: MapOptions = {}): Promise<Awaited<ReturnType<F>>[]> {
    const out: Awaited<ReturnType<F>>[] = [];
    for await (const value of this.#ordered(fn, Mode.STARMAP, iterable, options)) out.push(value as Awaited<ReturnType<F>>);
    return out;
  }

  /**
   * `fn` over every item, yielding results in order as they are ready (Python's `imap`). Items are
   * taken from `iterable` as workers need them (a bounded number ahead), so it may be endless.
   * Leaving the loop early cancels what has not started.
   */
  imap<T, R>(fn: (item: T) => R, iterable: Iterable<T>, options: MapOptions = {}): AsyncIterableIterator<Awaited<R>> {
    return this.#ordered(fn, Mode.MAP, iterable, options) as AsyncIterableIterator<Awaited<R>>;
  }

  /** As `imap`, but yields each result as soon as it is ready, in any order (Python's `imap_unordered`). */
  imapUnordered<T, R>(fn: (item: T) => R, iterable: Iterable<T>, options: MapOptions = {}): AsyncIterableIterator<Awaited<R>> {
    const chunksize = checkCount(options.chunksize ?? 1, 'chunksize', 1);
    const it = this.#chunks(fn, Mode.MAP, iterable, chunksize, options.chunksize !== undefined);
    const limit = this.#ahead();
    return (async function* () {
      const ready: Future<unknown>[] = [];
      let wake: (() => void) | undefined;
      let running = 0;
      let exhausted = false;
      const live = new Set<Future<unknown>>();
      const onDone = (f: Future<unknown>) => {
        ready.push(f);
        wake?.();
      };
      try {
        for (;;) {
          while (!exhausted && running < limit) {
            const r = it.next();
            if (r.done) exhausted = true;
            else {
              running++;
              live.add(r.value);
              r.value.addDoneCallback(onDone);
            }
          }
          if (ready.length === 0) {
            if (running === 0) return;
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          const f = ready.shift()!;
          running--;
          live.delete(f);
          const value = await f.result();
          if (chunksize === 1) yield value as Awaited<R>;
          else yield* value as Awaited<R>[];
        }
      } finally {
        for (const f of live) f.cancel();
      }
    })();
  }

  /** No more tasks (Python's `close()`); those submitted go on. Call `join()` to wait for them. */
  close(): void {
    this.#pool.close();
  }

  /** Waits until every task has finished and the workers have exited. Call `close()` first (Python's rule). */
  join(): Promise<void> {
    return this.#pool.join();
  }

  /** Stops the workers now (Python's `terminate()`); unfinished tasks reject with `CancelledError`. Resolves once they have exited. */
  terminate(): Promise<void> {
    return this.#pool.terminate();
  }

  /** Workers alive, busy and started, and tasks queued. */
  stats(): PoolStats {
    return this.#pool.stats();
  }

  /** `await using pool = …`: `terminate()` at the end of the scope, as Python's `with Pool(…)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }

  #submit(fn: unknown, mode: number, payload: unknown[], timeoutMs: number, alone = false): Future<unknown> {
    const ref = resolveTarget(fn);
    const p = encodePayload(mode, payload, this.#kind);
    return this.#pool.submit(ref, encoded.mode, p, timeoutMs, alone);
  }

  /** How many tasks an `imap` keeps submitted ahead of its consumer: enough to fill every worker's batches. */
  #ahead(): number {
    return Math.max(256, 2048 * this.#processes);
  }

  /** Tasks for the items of `iterable`: a call per item at chunksize 1, else a chunk call per `chunksize` items; `alone` when the caller chose the chunksize. */
  *#chunks(fn: unknown, mode: number, iterable: Iterable<unknown>, chunksize: number, alone: boolean): Generator<Future<unknown>> {
    if (iterable === null || typeof (iterable as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
      throw new InvalidArgumentError(`Expected an iterable of items, got ${iterable === null ? 'null' : typeof iterable}.`);
    }
    resolveTarget(fn); // fail before the first item is taken
    let chunk: unknown[] = [];
    for (const each of iterable) {
      // A starmap tuple is copied, as `apply`'s arguments are.
      const item = mode === Mode.STARMAP ? checkTuple(each) : each;
      if (chunksize === 1) {
        yield this.#submit(fn, Mode.CALL, mode === Mode.STARMAP ? (item as unknown[]) : [item], this.#taskTimeoutMs, alone);
        continue;
      }
      chunk.push(item);
      if (chunk.length === chunksize) {
        yield this.#submit(fn, mode, chunk, this.#taskTimeoutMs, alone);
        chunk = [];
      }
    }
    if (chunk.length > 0) yield this.#submit(fn, mode, chunk, this.#taskTimeoutMs, alone);
  }

  #ordered(fn: unknown, mode: number, iterable: Iterable<unknown>, options: MapOptions): AsyncIterableIterator<unknown> {
    const chunksize = checkCount(options?.chunksize ?? 1, 'chunksize', 1);
    const it = this.#chunks(fn, mode, iterable, chunksize, options?.chunksize !== undefined);
    const limit = this.#ahead();
    return (async function* () {
      const window: Future<unknown>[] = [];
      let head = 0;
      let exhausted = false;
      const fill = () => {
        while (!exhausted && window.length - head < limit) {
          const r = it.next();
          if (r.done) exhausted = true;
          else window.push(r.value);
        }
        if (head > 4096) {
          window.splice(0, head);
          head = 0;
        }
      };
      try {
        fill();
        while (head < window.length) {
          const value = await window[head]!.result();
          head++;
          fill();
          if (chunksize === 1) yield value;
          else yield* value as unknown[];
        }
      } finally {
        for (let i = head; i < window.length; i++) window[i]!.cancel();
      }
    })();
  }
}

/** A starmap item as the arguments it is: a copy of the array, taken now (a Proxy's elements are read once). */
function checkTuple(item: unknown): unknown[] {
  if (!Array.isArray(item))
    throw new InvalidArgumentError(`Expected each starmap item to be an array of arguments (Python's tuple), got ${item === null ? 'null' : typeof item}.`);
  return [...item];
}
