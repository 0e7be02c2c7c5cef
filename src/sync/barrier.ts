/**
 * `Barrier`: Python's `threading.Barrier`, built like Python's on a `Condition` over a `Lock`,
 * with its state (filling, draining, resetting, broken) and count in shared memory.
 */
import { BrokenBarrierError, InvalidArgumentError, NotSupportedError } from '../errors.ts';
import { load, store, type Cell } from '../internal/atomics.ts';
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import { region, words, type MemoryOptions } from '../internal/cells.ts';
import { Condition } from './condition.ts';
import { Lock } from './lock.ts';
import { checkTimeout } from '../internal/timeout.ts';
import { deadlineFor, now, refuseOnMain, startWait, type SyncWaitOptions, type WaitOptions } from '../internal/park.ts';
import type { SharedMemory } from '../internal/cells.ts';

// Words; both change only under the Condition's lock.
/** One of the states below. */
const STATE = 0;
/** Parties inside `wait()` now: arrived and not yet left (while FILLING, the ones waiting). */
const COUNT = 1;
const WORDS = 2;

// STATE values. Negative: the current parties are to leave with `BrokenBarrierError`.
/** Parties arrive; the one that makes COUNT reach `parties` runs the action and turns it DRAINING. */
const FILLING = 0;
/** Released: the parties leave; the last one out turns it FILLING for the next generation. */
const DRAINING = 1;
/** `reset()` while parties waited: they leave broken; the last one out turns it FILLING. */
const RESETTING = -1;
/** Broken (timeout, abort, a failed action, `abort()`): every wait throws until `reset()`. */
const BROKEN = -2;

export interface BarrierOptions extends MemoryOptions {
  /**
   * Runs once per generation, in the last party to arrive, before the others are released
   * (if it throws, the barrier breaks and that party's wait rethrows). A function cannot cross
   * threads, so a Barrier with an `action` serves async tasks of one thread only: sharing it
   * with another thread throws `NotSupportedError`.
   */
  action?: () => void;
  /** Default `timeoutMs` of every `wait()`; `undefined` or `-1`: none. */
  timeoutMs?: number;
}

interface BarrierState {
  cond: Condition;
  buffer: SharedMemory;
  byteOffset: number;
  parties: number;
  timeoutMs: number | undefined;
}

/**
 * A barrier for a fixed number of parties (Python's `threading.Barrier`): each `wait()` blocks
 * until `parties` callers wait, then all are released together and the barrier is reused for
 * the next generation.
 *
 * It *breaks* (every current and later waiter rejects with `BrokenBarrierError`, until
 * `reset()`) when a wait times out, when a wait is aborted by its signal, when `action` throws,
 * or on `abort()`.
 */
export class Barrier {
  readonly #cond: Condition;
  readonly #cell: Cell;
  readonly #buffer: SharedMemory;
  readonly #byteOffset: number;
  readonly #parties: number;
  readonly #timeoutMs: number | undefined;
  readonly #action: (() => void) | undefined;

  /** Bytes of shared memory a Barrier's own state occupies (its Condition apart). */
  static readonly BYTES = WORDS * 4;

  constructor(parties: number, options?: BarrierOptions) {
    if (!Number.isInteger(parties) || parties < 1) {
      throw new InvalidArgumentError(`new Barrier(): expected \`parties\` to be an integer from 1 up, got \`${String(parties)}\` (${typeof parties})`);
    }
    checkTimeout(options?.timeoutMs, 'new Barrier()');
    const r = region(Barrier.BYTES, options, 'new Barrier()');
    this.#buffer = r.buffer;
    this.#byteOffset = r.byteOffset;
    this.#cell = words(r, WORDS);
    this.#parties = parties;
    this.#timeoutMs = options?.timeoutMs;
    this.#action = options?.action;
    this.#cond =
      (options as { cond?: Condition } | undefined)?.cond ??
      new Condition(new Lock({ memory: options?.memory }), { capacity: Math.max(parties, 1) * 2, memory: options?.memory });
  }

  /** The number of parties needed to pass the barrier. */
  get parties(): number {
    return this.#parties;
  }

  /** How many parties wait now, in the current generation. */
  get nWaiting(): number {
    return load(this.#cell, STATE) === FILLING ? load(this.#cell, COUNT) : 0;
  }

  /** Whether the barrier is broken. */
  get broken(): boolean {
    return load(this.#cell, STATE) === BROKEN;
  }

  /**
   * Waits until all parties have called `wait()`; resolves to this party's arrival index, an
   * integer from 0 to `parties - 1`, different for each party of one generation.
   *
   * ## Cancellation and timeout
   * - `timeoutMs` (default: the barrier's `timeoutMs`, else forever): when it runs out the
   *   barrier breaks and every waiter rejects with `BrokenBarrierError`.
   * - `signal`: already aborted rejects with `signal.reason` and changes nothing; aborted while
   *   waiting, the barrier breaks (the others cannot complete without this party) and this wait
   *   rejects with `signal.reason`.
   * - Rejects with `BrokenBarrierError` when the barrier is or becomes broken or is reset.
   */
  async wait(options?: WaitOptions): Promise<number> {
    const deadline = startWait({ timeoutMs: options?.timeoutMs ?? this.#timeoutMs, signal: options?.signal }, 'Barrier.wait()');
    const signal = options?.signal;
    const cond = this.#cond;
    await cond.acquire();
    try {
      // Wait while the previous generation drains or resets.
      while (this.#turning()) await cond.wait({ signal });
      const index = this.#arrive();
      try {
        if (this.#last(index)) this.#pass();
        else this.#afterWait(await cond.waitFor(this.#filled, { timeoutMs: remaining(deadline), signal }).catch(this.#breakWith));
        return index;
      } finally {
        this.#leave();
      }
    } finally {
      cond.release();
    }
  }

  /**
   * Blocking {@link Barrier.wait} for worker threads.
   *
   * ## Cancellation and timeout
   * `timeoutMs` as for {@link Barrier.wait}. On the main thread of the program it always throws
   * `InvalidStateError`, before it changes anything (so the barrier does not break).
   */
  waitSync(options?: SyncWaitOptions): number {
    const deadline = deadlineFor(options?.timeoutMs ?? this.#timeoutMs, 'Barrier.waitSync()');
    refuseOnMain('Barrier.waitSync()', 'await barrier.wait()');
    const cond = this.#cond;
    cond.acquireSync();
    try {
      while (this.#turning()) cond.waitSync();
      const index = this.#arrive();
      try {
        if (this.#last(index)) this.#pass();
        else this.#afterWait(this.#breakingOnError(() => cond.waitForSync(this.#filled, { timeoutMs: remaining(deadline) })));
        return index;
      } finally {
        this.#leave();
      }
    } finally {
      cond.release();
    }
  }

  /**
   * Returns the barrier to its initial state. Parties waiting now reject with
   * `BrokenBarrierError`; later waits work again.
   */
  async reset(): Promise<void> {
    await this.#cond.withLock(() => this.#reset());
  }

  /** Blocking {@link Barrier.reset} for worker threads. */
  resetSync(): void {
    this.#underLockSync(() => this.#reset());
  }

  /**
   * Breaks the barrier: current and later waits reject with `BrokenBarrierError` until
   * `reset()`. Use it to free the parties when one of them cannot come.
   */
  async abort(): Promise<void> {
    await this.#cond.withLock(() => this.#break());
  }

  /** Blocking {@link Barrier.abort} for worker threads. */
  abortSync(): void {
    this.#underLockSync(() => this.#break());
  }

  #underLockSync(fn: () => void): void {
    refuseOnMain('Barrier.resetSync()/abortSync()', 'await barrier.reset()/abort()');
    this.#cond.acquireSync();
    try {
      fn();
    } finally {
      this.#cond.release();
    }
  }

  [kShare](): SharedState {
    if (this.#action) {
      throw new NotSupportedError(
        'A Barrier with an `action` cannot cross to another thread or process (a function cannot); create it without one, and run the action after wait() in the party that gets index 0',
      );
    }
    const state: BarrierState = { cond: this.#cond, buffer: this.#buffer, byteOffset: this.#byteOffset, parties: this.#parties, timeoutMs: this.#timeoutMs };
    return { type: 'Barrier', state };
  }

  #state(): number {
    return load(this.#cell, STATE);
  }

  // The pieces of one party's way through, shared by wait() and waitSync(); all under the lock.

  /** The previous generation still drains or resets: a new party waits before it arrives. */
  #turning(): boolean {
    const s = this.#state();
    return s === DRAINING || s === RESETTING;
  }

  /** A party arrives in the filling generation: returns its index (its place in COUNT). */
  #arrive(): number {
    if (this.#state() < 0) throw this.#brokenError();
    const index = load(this.#cell, COUNT);
    store(this.#cell, COUNT, index + 1);
    return index;
  }

  #last(index: number): boolean {
    return index + 1 === this.#parties;
  }

  /** What a waiting party waits for: its generation stopped filling (passed, broken or reset). */
  readonly #filled = (): boolean => this.#state() !== FILLING;

  /** A wait that fails (aborted, or another error) breaks the barrier: the others cannot complete without this party. */
  readonly #breakWith = (err: unknown): never => {
    this.#break();
    throw err;
  };

  #breakingOnError<T>(wait: () => T): T {
    try {
      return wait();
    } catch (err) {
      return this.#breakWith(err);
    }
  }

  /** A party leaves (passed, timed out, broken); the last to leave lets the next generation in. */
  #leave(): void {
    store(this.#cell, COUNT, load(this.#cell, COUNT) - 1);
    this.#exit();
  }

  /** The last party arrived: run the action, release everybody. Under the lock. */
  #pass(): void {
    try {
      this.#action?.();
      store(this.#cell, STATE, DRAINING);
      this.#cond.notifyAll();
    } catch (err) {
      this.#break();
      throw err;
    }
  }

  #afterWait(passed: boolean): void {
    if (!passed) {
      this.#break();
      throw new BrokenBarrierError('Barrier.wait(): timed out before all parties arrived; the barrier is now broken (call reset() to reuse it)');
    }
    if (this.#state() < 0) throw this.#brokenError();
  }

  /** The last party of a generation to leave lets the next generation in. Under the lock. */
  #exit(): void {
    if (load(this.#cell, COUNT) !== 0) return;
    const s = this.#state();
    if (s === RESETTING || s === DRAINING) {
      store(this.#cell, STATE, FILLING);
      this.#cond.notifyAll();
    }
  }

  #reset(): void {
    if (load(this.#cell, COUNT) > 0) {
      const s = this.#state();
      if (s === FILLING || s === BROKEN) store(this.#cell, STATE, RESETTING);
    } else {
      store(this.#cell, STATE, FILLING);
    }
    this.#cond.notifyAll();
  }

  #break(): void {
    store(this.#cell, STATE, BROKEN);
    this.#cond.notifyAll();
  }

  #brokenError(): BrokenBarrierError {
    return new BrokenBarrierError('Barrier.wait(): the barrier is broken (aborted, timed out or reset while waited on); call reset() to reuse it');
  }
}

function remaining(deadline: number): number | undefined {
  return deadline === Infinity ? undefined : Math.max(0, deadline - now());
}

registerShareable('Barrier', (s: BarrierState) => {
  const b = new Barrier(s.parties, { buffer: s.buffer, byteOffset: s.byteOffset, timeoutMs: s.timeoutMs, cond: s.cond } as BarrierOptions);
  return b;
});
