/**
 * `Barrier`: Python's `threading.Barrier`, built like Python's on a `Condition` over a `Lock`,
 * with its state (filling, draining, resetting, broken) and count in shared memory.
 */
import { BrokenBarrierError, InvalidArgumentError, LockOwnerDiedError, NotSupportedError } from '../errors.ts';
import { load, store, type Cell } from '../internal/atomics.ts';
import { myOwnerId, ownerDied } from '../internal/owner.ts';
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import { region, words, type MemoryOptions } from '../internal/cells.ts';
import { Condition } from './condition.ts';
import { Lock } from './lock.ts';
import { checkTimeout } from '../internal/timeout.ts';
import { deadlineFor, now, POLL_MS, refuseOnMain, startWait, type SyncWaitOptions, type WaitOptions } from '../internal/park.ts';
import type { SharedMemory } from '../internal/cells.ts';

// Words; all change only under the Condition's lock, each change one store, so that a party
// killed holding the lock leaves them consistent (the lock is then recovered: `#acquire`).
/** One of the states below. */
const STATE = 0;
/**
 * From here, one word per party: the owner id (internal/owner.ts) of each party inside `wait()`
 * (arrived and not yet left; while FILLING, the ones waiting), 0 for a free word. How many are
 * taken is the count of parties inside. A party that died inside (a killed Process, a
 * terminated Thread) is found there by the others, which wake every POLL_MS to look, and taken
 * out (`#reapDead`).
 */
const PARTIES = 1;
const wordsFor = (parties: number) => PARTIES + parties;

// STATE values. Negative: the current parties are to leave with `BrokenBarrierError`.
/** Parties arrive; the one that makes the count inside reach `parties` runs the action and turns it DRAINING. */
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

  /** Bytes of shared memory the own state of a Barrier of `parties` occupies (its Condition apart). */
  static bytesFor(parties: number): number {
    return wordsFor(parties) * 4;
  }

  constructor(parties: number, options?: BarrierOptions) {
    if (!Number.isInteger(parties) || parties < 1) {
      throw new InvalidArgumentError(`new Barrier(): expected \`parties\` to be an integer from 1 up, got \`${String(parties)}\` (${typeof parties})`);
    }
    checkTimeout(options?.timeoutMs, 'new Barrier()');
    const r = region(Barrier.bytesFor(parties), options, 'new Barrier()');
    this.#buffer = r.buffer;
    this.#byteOffset = r.byteOffset;
    this.#cell = words(r, wordsFor(parties));
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

  /** How many parties wait now, in the current generation (one that died waiting does not count). */
  get nWaiting(): number {
    if (load(this.#cell, STATE) !== FILLING) return 0;
    let live = 0;
    for (let i = 0; i < this.#parties; i++) {
      const id = load(this.#cell, PARTIES + i);
      if (id !== 0 && !ownerDied(id)) live++;
    }
    return live;
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
   * - Rejects with `BrokenBarrierError` when the barrier is or becomes broken or is reset,
   *   and when a party dies while it waits (a killed Process, a terminated Thread): the
   *   generation cannot complete without it. The dead party is taken out, so `reset()` makes
   *   the barrier whole again.
   * - The timeout also bounds the wait for the previous generation to leave, before this party
   *   arrives.
   */
  async wait(options?: WaitOptions): Promise<number> {
    const deadline = startWait({ timeoutMs: options?.timeoutMs ?? this.#timeoutMs, signal: options?.signal }, 'Barrier.wait()');
    const signal = options?.signal;
    const cond = this.#cond;
    await this.#acquire();
    try {
      // Wait while the previous generation drains or resets.
      this.#afterEntry(await this.#waitUntil(this.#open, deadline, signal));
      const [index, word] = this.#arrive();
      try {
        if (this.#last(index)) this.#pass();
        else this.#afterWait(await this.#waitUntil(this.#filled, deadline, signal).catch(this.#breakWith));
        return index;
      } finally {
        this.#leave(word);
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
    this.#acquireSync();
    try {
      this.#afterEntry(this.#waitUntilSync(this.#open, deadline));
      const [index, word] = this.#arrive();
      try {
        if (this.#last(index)) this.#pass();
        else this.#afterWait(this.#breakingOnError(() => this.#waitUntilSync(this.#filled, deadline)));
        return index;
      } finally {
        this.#leave(word);
      }
    } finally {
      cond.release();
    }
  }

  /**
   * Waits, holding the lock between looks, until `done()` or `deadline` (then false). Wakes
   * every POLL_MS to take out parties that died inside, which nobody else would notice.
   */
  async #waitUntil(done: () => boolean, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    for (let look = this.#look(done, deadline); ; look = this.#look(done, deadline)) {
      if (typeof look === 'boolean') return look;
      // A wait that fails because a party died holding the lock ends without it: take it again.
      if (!(await this.#tookAsync(this.#cond.wait({ timeoutMs: look, signal })))) await this.#acquire();
    }
  }

  #waitUntilSync(done: () => boolean, deadline: number): boolean {
    for (let look = this.#look(done, deadline); ; look = this.#look(done, deadline)) {
      if (typeof look === 'boolean') return look;
      if (!this.#took(() => this.#cond.waitSync({ timeoutMs: look }))) this.#acquireSync();
    }
  }

  /** One look, under the lock: true when `done()`, false past `deadline`, else how long to wait before the next. */
  #look(done: () => boolean, deadline: number): boolean | number {
    this.#reapDead();
    if (done()) return true;
    const left = deadline - now();
    return left <= 0 ? false : Math.min(left, POLL_MS);
  }

  /**
   * Takes the lock, recovering it when a party died holding it: the barrier's words are
   * consistent after any single store, and the dead party is taken out by the next look
   * (`#reapDead`), so the barrier stays usable where a user's poisoned lock would not.
   */
  async #acquire(): Promise<void> {
    for (;;) if (await this.#tookAsync(this.#cond.acquire())) return;
  }

  #acquireSync(): void {
    for (;;) if (this.#took(() => this.#cond.acquireSync())) return;
  }

  /** Whether `step` ran; false when it failed because a party died holding the lock (see `#recovered`). */
  #took(step: () => unknown): boolean {
    try {
      step();
      return true;
    } catch (err) {
      return this.#recovered(err);
    }
  }

  /** As `#took`, for a step already started. */
  #tookAsync(step: Promise<unknown>): Promise<boolean> {
    return step.then(
      () => true,
      (err: unknown) => this.#recovered(err),
    );
  }

  /** False once a lock whose holder died is recovered (the caller then takes it again); rethrows any other error. */
  #recovered(err: unknown): false {
    if (!(err instanceof LockOwnerDiedError)) throw err;
    (this.#cond.lock as Lock).recover();
    return false;
  }

  /**
   * Returns the barrier to its initial state. Parties waiting now reject with
   * `BrokenBarrierError`; later waits work again.
   */
  async reset(): Promise<void> {
    await this.#acquire();
    try {
      this.#reset();
    } finally {
      this.#cond.release();
    }
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
    await this.#acquire();
    try {
      this.#reapDead();
      this.#break();
    } finally {
      this.#cond.release();
    }
  }

  /** Blocking {@link Barrier.abort} for worker threads. */
  abortSync(): void {
    this.#underLockSync(() => this.#break());
  }

  #underLockSync(fn: () => void): void {
    refuseOnMain('Barrier.resetSync()/abortSync()', 'await barrier.reset()/abort()');
    this.#acquireSync();
    try {
      this.#reapDead();
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

  /** The previous generation has left (or the barrier is broken): a new party may arrive. */
  readonly #open = (): boolean => {
    const s = this.#state();
    return s !== DRAINING && s !== RESETTING;
  };

  #afterEntry(open: boolean): void {
    if (open) return;
    this.#break();
    throw new BrokenBarrierError(
      'Barrier.wait(): timed out while the previous generation of parties was still leaving; the barrier is now broken (call reset() to reuse it)',
    );
  }

  /** How many parties are inside `wait()`. */
  #inside(): number {
    let n = 0;
    for (let i = 0; i < this.#parties; i++) if (load(this.#cell, PARTIES + i) !== 0) n++;
    return n;
  }

  /** A party arrives in the filling generation: returns its index (how many arrived before it) and the word that names it. */
  #arrive(): [index: number, word: number] {
    if (this.#state() < 0) throw this.#brokenError();
    const index = this.#inside();
    let word = PARTIES;
    while (load(this.#cell, word) !== 0) word++; // fewer than `parties` inside while FILLING: a free word exists
    store(this.#cell, word, myOwnerId());
    return [index, word];
  }

  /**
   * Takes out the parties that died inside `wait()`. One that died waiting breaks the filling
   * generation (it cannot complete without that party); in a draining or resetting one, the
   * others may now let the next generation in. Under the lock.
   */
  #reapDead(): void {
    let died = false;
    for (let i = 0; i < this.#parties; i++) {
      const id = load(this.#cell, PARTIES + i);
      if (id === 0 || !ownerDied(id)) continue;
      store(this.#cell, PARTIES + i, 0);
      died = true;
    }
    if (!died) return;
    if (this.#state() === FILLING) this.#break();
    this.#exit();
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
  #leave(word: number): void {
    store(this.#cell, word, 0);
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
    if (this.#inside() !== 0) return;
    const s = this.#state();
    if (s === RESETTING || s === DRAINING) {
      store(this.#cell, STATE, FILLING);
      this.#cond.notifyAll();
    }
  }

  #reset(): void {
    this.#reapDead();
    if (this.#inside() > 0) {
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
    return new BrokenBarrierError(
      'Barrier.wait(): the barrier is broken (aborted, timed out, a party died waiting, or reset while waited on); call reset() to reuse it',
    );
  }
}

registerShareable('Barrier', (s: BarrierState) => {
  const b = new Barrier(s.parties, { buffer: s.buffer, byteOffset: s.byteOffset, timeoutMs: s.timeoutMs, cond: s.cond } as BarrierOptions);
  return b;
});
