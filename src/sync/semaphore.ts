/**
 * `Semaphore`: Python's `threading.Semaphore`, a counter in shared memory.
 */
import { InvalidArgumentError, SemaphoreOverflowError } from '../errors.ts';
import { add, compareExchange, load, notify, pause, store, sub, type Cell } from '../internal/atomics.ts';
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import { region, words, type MemoryOptions } from '../internal/cells.ts';
import { checkMayBlock, deadlineFor, now, runAsync, runSync, startWait, type Steps, type SyncWaitOptions, type WaitOptions } from '../internal/park.ts';
import { holdAcquired, withAcquired, type LockGuard } from './lock-like.ts';
import type { SharedMemory } from '../internal/cells.ts';
import { TRACING, enterTrace, enterTraceSync, traceAcquire, traceAcquireSync, traceRelease } from '../trace/hooks.ts';

// Words.
/** Units free now, from 0 up; only compare-and-swap changes it. Waiters park on it while it is 0. */
const VALUE = 0;
/** Waiters parked on VALUE now; `release` skips its `notify` while it is 0. */
const WAITERS = 1;
/** The highest VALUE `release` may reach: the initial value for a `BoundedSemaphore`, -1 (none) otherwise. Set once. */
const BOUND = 2;
const WORDS = 4;
/** Spins before parking. */
const SPINS = 40;
/** The highest VALUE of any semaphore (an Int32). */
const MAX_VALUE = 0x7fffffff;

const TRUE: Promise<boolean> = Promise.resolve(true);

/** Where a `Semaphore` attaches, when it does not allocate its own memory. */
export type SemaphoreOptions = MemoryOptions;

export interface SemaphoreState {
  buffer: SharedMemory;
  byteOffset: number;
}

/**
 * A counting semaphore (Python's `threading.Semaphore`): `acquire()` takes one unit, waiting
 * while the value is 0; `release(n)` adds `n`. The value lives in shared memory, so one
 * instance works among async tasks and across threads.
 *
 * Waiters are woken in the order they parked, but a running caller may take a released unit
 * first (no strict FIFO, as in Python).
 */
export class Semaphore {
  /** Bytes of shared memory one semaphore occupies. */
  static readonly BYTES = WORDS * 4;

  readonly #cell: Cell;
  readonly #buffer: SharedMemory;
  readonly #byteOffset: number;
  /** `Semaphore` or `BoundedSemaphore`, for messages; kept so that `withLock` and `hold` need not look it up per call. */
  readonly #label: string;

  /**
   * @param value the initial value, an integer >= 0 (default 1); ignored when attaching to
   *   `options.buffer`, which already holds one.
   */
  constructor(value = 1, options?: SemaphoreOptions) {
    const r = region(Semaphore.BYTES, options, `new ${new.target.name}()`);
    this.#buffer = r.buffer;
    this.#byteOffset = r.byteOffset;
    this.#cell = words(r, WORDS);
    this.#label = new.target.name;
    if (r.fresh) {
      if (!Number.isInteger(value) || value < 0 || value > MAX_VALUE) {
        throw new InvalidArgumentError(`new ${new.target.name}(): expected \`value\` to be an integer from 0 up, got \`${String(value)}\` (${typeof value})`);
      }
      store(this.#cell, VALUE, value);
      store(this.#cell, BOUND, this.bounded() ? value : -1);
    }
  }

  /** Whether `release()` refuses to go above the initial value (see `BoundedSemaphore`). */
  protected bounded(): boolean {
    return false;
  }

  /** The current value (a snapshot: other threads may change it at once). */
  get value(): number {
    return load(this.#cell, VALUE);
  }

  /**
   * Takes one unit; resolves `true` once taken, `false` if `timeoutMs` ran out first.
   *
   * ## Cancellation and timeout
   * - `timeoutMs`: `undefined` or `-1` waits forever; `0` tries once; other negatives reject
   *   with `InvalidArgumentError`.
   * - `signal`: already aborted, or aborted while waiting, rejects with `signal.reason`, and
   *   no unit was taken by this call.
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    if (TRACING && enterTrace(this)) return traceAcquire(this, this.constructor.name, this.acquire(options), TRUE);
    let deadline: number;
    try {
      deadline = startWait(options, `${this.constructor.name}.acquire()`);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#take()) return TRUE;
    return runAsync(this.#steps(deadline), deadline, options?.signal);
  }

  /**
   * Takes one unit, blocking the calling thread (worker threads).
   *
   * ## Cancellation and timeout
   * `timeoutMs` as for {@link Semaphore.acquire}. On the main thread of the program it is
   * refused with `InvalidStateError` whether or not a unit is free, except with `timeoutMs: 0`.
   */
  acquireSync(options?: SyncWaitOptions): boolean {
    if (TRACING && enterTraceSync(this)) return traceAcquireSync(this, this.constructor.name, this.acquireSync(options));
    const deadline = deadlineFor(options?.timeoutMs, `${this.constructor.name}.acquireSync()`);
    checkMayBlock(`${this.constructor.name}.acquireSync()`, 'await sem.acquire()', options?.timeoutMs);
    if (this.#take()) return true;
    return runSync(this.#steps(deadline), deadline);
  }

  /** Takes one unit if one is available now. */
  tryAcquire(): boolean {
    return this.#take();
  }

  /**
   * Adds `n` units (default 1) and wakes up to `n` waiters. `BoundedSemaphore` throws
   * `SemaphoreOverflowError` instead of going above its initial value (then nothing is added).
   */
  release(n = 1): void {
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${this.constructor.name}.release(): expected \`n\` to be an integer from 1 up, got \`${String(n)}\` (${typeof n})`);
    }
    const c = this.#cell;
    const bound = load(c, BOUND);
    const limit = bound < 0 ? MAX_VALUE : bound;
    for (;;) {
      const v = load(c, VALUE);
      if (v + n > limit) {
        throw new SemaphoreOverflowError(
          `${this.constructor.name}.release(${n}): the value would go from ${v} to ${v + n}, above ${limit}${bound < 0 ? '' : ', the initial value (released more often than acquired)'}`,
        );
      }
      if (compareExchange(c, VALUE, v, v + n) === v) break;
    }
    if (TRACING) traceRelease(this);
    if (load(c, WAITERS) !== 0) notify(c, VALUE, n);
  }

  /**
   * Runs `fn` holding one unit, then releases it.
   *
   * ## Cancellation and timeout
   * As {@link Semaphore.acquire}; when `timeoutMs` runs out it rejects with `TimeoutError`.
   */
  withLock<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    return withAcquired(this, this.#label, fn, options);
  }

  /**
   * Takes one unit and returns a guard that releases it: `using _ = await sem.hold();`.
   *
   * ## Cancellation and timeout
   * As {@link Semaphore.acquire}; when `timeoutMs` runs out it rejects with `TimeoutError`.
   */
  hold(options?: WaitOptions): Promise<LockGuard> {
    return holdAcquired(this, this.#label, options);
  }

  [kShare](): SharedState {
    return { type: this.bounded() ? 'BoundedSemaphore' : 'Semaphore', state: { buffer: this.#buffer, byteOffset: this.#byteOffset } satisfies SemaphoreState };
  }

  #take(): boolean {
    const c = this.#cell;
    for (;;) {
      const v = load(c, VALUE);
      if (v <= 0) return false;
      if (compareExchange(c, VALUE, v, v - 1) === v) return true;
    }
  }

  *#steps(deadline: number): Steps<boolean> {
    const c = this.#cell;
    let spins = 0;
    let parked = false;
    let woken = false;
    try {
      for (;;) {
        if (this.#take()) return true;
        if (now() >= deadline) {
          // A wake-up this waiter will not use goes to the next one.
          if (woken && load(c, VALUE) > 0 && load(c, WAITERS) !== 0) notify(c, VALUE, 1);
          return false;
        }
        if (spins < SPINS) {
          spins++;
          pause();
          continue;
        }
        add(c, WAITERS, 1);
        parked = true;
        woken = (yield [c, VALUE, 0, Infinity]) === 'ok';
        parked = false;
        sub(c, WAITERS, 1);
      }
    } finally {
      if (parked) sub(c, WAITERS, 1);
    }
  }
}

registerShareable('Semaphore', (state: SemaphoreState) => new Semaphore(0, state));
