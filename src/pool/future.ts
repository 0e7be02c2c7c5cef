/**
 * `Future<T>`: the eventual outcome of a task submitted to an executor or a pool (Python's
 * `concurrent.futures.Future`). States: pending (queued) → running (handed to a worker) →
 * finished; or pending → cancelled.
 *
 * "Running" means handed to a worker, as in Python's `ProcessPoolExecutor`: tiny tasks travel to
 * a worker in batches, so a task can be running while it waits behind others of its batch.
 */
import { InvalidArgumentError, TimeoutError } from '../errors.ts';
import { CancelledError } from '../errors.ts';
import { checkTimeout } from '../internal/timeout.ts';

type State = 'pending' | 'running' | 'finished' | 'cancelled';

/** @internal The pool's task overrides it: withdraws the task if still queued; true when it was. */
export const kWithdraw = Symbol('withdraw');
/** @internal The pool's task overrides it: signals the running task, stops its worker after the grace period. */
export const kAbort = Symbol('abort');

/** @internal Lets the pool settle a future without making these methods public. */
export const kSettle = Symbol('settle');
/** @internal */
export const kRunning = Symbol('running');
/** @internal True when the future finished with an error (not cancelled). */
export const kFailed = Symbol('failed');

export class Future<T = unknown> {
  #state: State = 'pending';
  #ok = false;
  #value: unknown;
  #callbacks: Array<(future: Future<T>) => void> | undefined;
  #outcome: Promise<T> | undefined;
  #resolve: ((value: T) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  /** @internal Futures are made by executors and pools (their tasks are futures themselves: one object per task). */
  // biome-ignore lint/complexity/noUselessConstructor: it carries the @internal doc of how futures are made
  constructor() {}

  /** @internal */
  [kWithdraw](): boolean {
    return true;
  }

  /** @internal */
  [kAbort](): void {}

  /**
   * The task's value. Waits until it has finished; rejects with the error the task threw (rebuilt:
   * class, message, the worker's stack, `cause`, own properties), with a `CancelledError` when it
   * was cancelled, or with a `TimeoutError` when `timeoutMs` passes first — the task then goes on,
   * and a later `result()` can still get its value (Python's `result(timeout)`).
   */
  result(timeoutMs?: number): Promise<T> {
    let ms: number;
    try {
      ms = checkTimeout(timeoutMs, 'Future.result()');
    } catch (err) {
      return Promise.reject(err); // a bad timeout rejects, as every other wait's does
    }
    if (this.done()) return this.#ok ? Promise.resolve(this.#value as T) : Promise.reject(this.#value);
    // One promise per future, whoever asks: a tiny task must not cost a chain of promises.
    this.#outcome ??= new Promise<T>((resolve, reject) => ((this.#resolve = resolve), (this.#reject = reject)));
    if (ms === Infinity) return this.#outcome;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`The future did not finish within ${timeoutMs} ms.`)), ms);
    });
    return Promise.race([this.#outcome, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * The error the task threw, or `undefined` when it returned. Waits as `result()` does, and rejects
   * with a `CancelledError` when the future was cancelled or a `TimeoutError` after `timeoutMs`.
   */
  async exception(timeoutMs?: number): Promise<unknown> {
    try {
      await this.result(timeoutMs);
      return undefined;
    } catch (err) {
      if (this.#state === 'cancelled' || !this.done()) throw err; // CancelledError, TimeoutError
      return err;
    }
  }

  /**
   * Cancels the task if it has not started: true when it is (now or already) cancelled, false when
   * it is running or finished (Python's `cancel()`). To stop a running task, use `abort()`.
   */
  cancel(): boolean {
    if (this.#state === 'cancelled') return true;
    if (this.#state !== 'pending') return false;
    if (!this[kWithdraw]()) return false;
    this.#finish('cancelled', false, new CancelledError('The task was cancelled before it started.'));
    return true;
  }

  /**
   * Cancels the task even when it runs: a queued task is withdrawn; a running one is rejected with a
   * `CancelledError` at once, its `currentTask().signal` fires in the worker, and if it has not ended
   * within the pool's `cancelGraceMs` its worker is terminated and replaced. Returns false when the
   * task had already finished.
   */
  abort(): boolean {
    if (this.#state === 'cancelled') return true;
    if (this.#state === 'finished') return false;
    if (this.#state === 'pending') return this.cancel();
    this.#finish('cancelled', false, new CancelledError('The task was cancelled while it ran.'));
    this[kAbort]();
    return true;
  }

  /** True when the task was cancelled. */
  cancelled(): boolean {
    return this.#state === 'cancelled';
  }

  /** True while the task is handed to a worker and not finished. */
  running(): boolean {
    return this.#state === 'running';
  }

  /** True when the task finished or was cancelled. */
  done(): boolean {
    return this.#state === 'finished' || this.#state === 'cancelled';
  }

  /**
   * Calls `fn(future)` when the future is done (at once if it is). Callbacks run in the order
   * added; an error thrown by one is reported on stderr and does not stop the others (Python's rule).
   */
  addDoneCallback(fn: (future: Future<T>) => void): void {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`Expected a callback function, got ${typeof fn}.`);
    if (this.done()) this.#call(fn);
    else (this.#callbacks ??= []).push(fn);
  }

  /** @internal */
  [kFailed](): boolean {
    return this.#state === 'finished' && !this.#ok;
  }

  /** @internal Handed to a worker (true), or back in the queue after its worker died (false). */
  [kRunning](running: boolean): void {
    if (!this.done()) this.#state = running ? 'running' : 'pending';
  }

  /** @internal Settles the future once; later calls are ignored. */
  [kSettle](ok: boolean, value: unknown, cancelled = false): void {
    if (this.done()) return;
    this.#finish(cancelled ? 'cancelled' : 'finished', ok, value);
  }

  #finish(state: State, ok: boolean, value: unknown): void {
    this.#state = state;
    this.#ok = ok;
    this.#value = value;
    if (this.#outcome) (ok ? this.#resolve! : this.#reject!)(value as T);
    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    if (callbacks) for (const fn of callbacks) this.#call(fn);
  }

  #call(fn: (future: Future<T>) => void): void {
    try {
      fn(this);
    } catch (err) {
      process.stderr.write(`threadkit: exception calling callback for a Future\n${err instanceof Error ? err.stack : String(err)}\n`);
    }
  }
}
