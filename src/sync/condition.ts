/**
 * `Condition`: Python's `threading.Condition`, a FIFO of waiters in shared memory.
 */
import { InvalidArgumentError, InvalidStateError, LockNotOwnedError } from '../errors.ts';
import { load, notify as wake, store, type Cell } from '../internal/atomics.ts';
import { myOwnerId, ownerDied } from '../internal/owner.ts';
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import { region, words, type MemoryOptions } from '../internal/cells.ts';
import type { Lock } from './lock.ts';
import { deadlineFor, now, refuseOnMain, runAsync, runSync, startWait, type Steps, type SyncWaitOptions, type WaitOptions } from '../internal/park.ts';
import { kAcquireRestore, kAcquireRestoreSync, kIsOwned, kReleaseSave, type LockGuard, type LockLike } from './lock-like.ts';
import { RLock } from './rlock.ts';
import type { SharedMemory } from '../internal/cells.ts';
import { TRACING, enterTrace, enterTraceSync, traceWait, traceWaitSync } from '../trace/hooks.ts';

// Words: the ring's head and tail, counted modulo 2 × capacity; then one word per waiter slot.
const HEAD = 0;
const TAIL = 1;
const SLOTS = 2;

// A slot's state, in its two lowest bits. Only the holder of the condition's lock changes them,
// except that a waiter reads its own slot while parked on it. Above them, WAITING and NOTIFIED
// keep the waiter's owner id (internal/owner.ts): a waiter that died (its process killed, its
// worker terminated) is known by it, so that a notify is not spent on it and its slot is reused.
const FREE = 0;
const WAITING = 1;
const NOTIFIED = 2;
const STATE_BITS = 3;
const OWNER_SHIFT = 2;
const stateOf = (v: number): number => v & STATE_BITS;
/** A WAITING or NOTIFIED slot whose waiter is dead. */
const deadWaiter = (v: number): boolean => stateOf(v) !== FREE && ownerDied(v >>> OWNER_SHIFT);

/** Default number of waiters a Condition can hold at once. */
export const DEFAULT_CAPACITY = 1024;

export interface ConditionOptions extends MemoryOptions {
  /** How many waiters can wait at once (default {@link DEFAULT_CAPACITY}); one Int32 each. */
  capacity?: number;
}

interface ConditionState {
  lock: Lock | RLock;
  buffer: SharedMemory;
  byteOffset: number;
  capacity: number;
}

/**
 * A condition variable (Python's `threading.Condition`) over a `Lock` or `RLock` (default: a
 * new `RLock`). `wait()` releases the lock, waits for a `notify`, and re-acquires the lock
 * (restoring an RLock's recursion depth) before it returns, in every case: notified, timed out,
 * aborted. `wait`, `notify` and `notifyAll` require the lock: otherwise they throw
 * `LockNotOwnedError` (Python: `RuntimeError`). With a plain `Lock`, "holding" can only be
 * checked as "locked by someone".
 *
 * The default `RLock` counts all plain async code of one thread as one owner (see `RLock`): for
 * async functions that are not threadkit `Thread`s, pass a `Lock` (`new Condition(new Lock())`).
 *
 * Waiters queue in FIFO order in a ring of `capacity` slots in shared memory; `notify(n)` wakes
 * exactly the first `n` waiters still waiting, so counts are exact across threads. A wait that
 * would exceed `capacity` throws `InvalidStateError`.
 */
export class Condition {
  readonly #lock: Lock | RLock;
  readonly #cell: Cell;
  readonly #capacity: number;
  readonly #buffer: SharedMemory;
  readonly #byteOffset: number;

  /** Bytes of shared memory a Condition of `capacity` waiters occupies (its lock apart). */
  static bytesFor(capacity = DEFAULT_CAPACITY): number {
    return (SLOTS + capacity) * 4;
  }

  constructor(lock?: Lock | RLock, options?: ConditionOptions) {
    const capacity = options?.capacity ?? DEFAULT_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) {
      throw new InvalidArgumentError(`new Condition(): expected \`capacity\` to be an integer from 1 to ${1 << 24}, got \`${String(capacity)}\``);
    }
    const r = region(Condition.bytesFor(capacity), options, 'new Condition()');
    this.#lock = lock ?? new RLock({ memory: options?.memory });
    this.#capacity = capacity;
    this.#buffer = r.buffer;
    this.#byteOffset = r.byteOffset;
    this.#cell = words(r, SLOTS + capacity);
  }

  /** The lock this condition waits with. */
  get lock(): Lock | RLock {
    return this.#lock;
  }

  /** Acquires the underlying lock (see `Lock.acquire` for cancellation and timeout). */
  acquire(options?: WaitOptions): Promise<boolean> {
    return this.#lock.acquire(options);
  }

  /** Blocking acquire of the underlying lock (see `Lock.acquireSync`). */
  acquireSync(options?: SyncWaitOptions): boolean {
    return this.#lock.acquireSync(options);
  }

  /** Acquires the underlying lock if that needs no wait. */
  tryAcquire(): boolean {
    return this.#lock.tryAcquire();
  }

  /** Releases the underlying lock. */
  release(): void {
    this.#lock.release();
  }

  /** Runs `fn` holding the underlying lock (see `Lock.withLock`). */
  withLock<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    return this.#lock.withLock(fn, options);
  }

  /** Acquires the underlying lock and returns a guard that releases it (see `Lock.hold`). */
  hold(options?: WaitOptions): Promise<LockGuard> {
    return this.#lock.hold(options);
  }

  /**
   * Releases the lock, waits until notified, re-acquires the lock. Resolves `true` when
   * notified, `false` when `timeoutMs` ran out first.
   *
   * ## Cancellation and timeout
   * - `timeoutMs`: `undefined` or `-1` waits forever; `0` releases and re-acquires at once;
   *   other negatives reject with `InvalidArgumentError`. A notify that lands between the
   *   timeout and the re-acquisition is not lost: the wait resolves `true`.
   * - `signal`: already aborted rejects at once (the lock stays held); aborted while waiting,
   *   the wait re-acquires the lock and then rejects with `signal.reason`. A notify this
   *   waiter received meanwhile is passed on to the next waiter.
   * - The re-acquisition itself has no timeout (Python's rule): the lock is always held again
   *   when `wait` settles, unless it is poisoned (`LockOwnerDiedError`).
   */
  async wait(options?: WaitOptions): Promise<boolean> {
    if (TRACING && enterTrace(this)) return traceWait(this, 'Condition', this.wait(options));
    const deadline = startWait(options, 'Condition.wait()');
    const slot = this.#enqueue('Condition.wait()');
    const saved = this.#releaseSave(slot);
    let aborted = false;
    let reason: unknown;
    try {
      await runAsync(this.#steps(slot, deadline), deadline, options?.signal);
    } catch (err) {
      aborted = true;
      reason = err;
    }
    try {
      await this.#lock[kAcquireRestore](saved);
    } catch (err) {
      store(this.#cell, slot, FREE);
      throw err;
    }
    const notified = this.#dequeue(slot, aborted);
    if (aborted) throw reason;
    return notified;
  }

  /**
   * Blocking {@link Condition.wait} for worker threads.
   *
   * ## Cancellation and timeout
   * `timeoutMs` as for {@link Condition.wait}. On the main thread of the program it always
   * throws `InvalidStateError` (even with `timeoutMs: 0`: the lock must be re-acquired, which
   * may wait): use the async `wait` there.
   */
  waitSync(options?: SyncWaitOptions): boolean {
    if (TRACING && enterTraceSync(this)) return traceWaitSync(this, 'Condition', this.waitSync(options));
    const deadline = deadlineFor(options?.timeoutMs, 'Condition.waitSync()');
    refuseOnMain('Condition.waitSync()', 'await cond.wait()');
    const slot = this.#enqueue('Condition.waitSync()');
    const saved = this.#releaseSave(slot);
    try {
      runSync(this.#steps(slot, deadline), deadline);
    } finally {
      try {
        this.#lock[kAcquireRestoreSync](saved);
      } catch (err) {
        // Poisoned meanwhile: the slot must not stay WAITING, or a later notify is spent on it.
        store(this.#cell, slot, FREE);
        // biome-ignore lint/correctness/noUnsafeFinally: a poisoned lock outranks how the wait ended
        throw err;
      }
    }
    return this.#dequeue(slot, false);
  }

  /**
   * Waits until `predicate()` returns a truthy value, and resolves to that value (or to the
   * last falsy one when `timeoutMs` ran out). `predicate` runs holding the lock, first before
   * any wait.
   *
   * ## Cancellation and timeout
   * `timeoutMs` bounds the whole call, not each wait. `signal` as for {@link Condition.wait}.
   */
  async waitFor<T>(predicate: () => T, options?: WaitOptions): Promise<T> {
    const deadline = startWait(options, 'Condition.waitFor()');
    let result = predicate();
    while (!result) {
      const left = deadline - now();
      if (left <= 0) break;
      await this.wait({ timeoutMs: left === Infinity ? undefined : left, signal: options?.signal });
      result = predicate();
    }
    return result;
  }

  /**
   * Blocking {@link Condition.waitFor} for worker threads (always throws `InvalidStateError`
   * on the main thread of the program, whether or not `predicate` is already true).
   */
  waitForSync<T>(predicate: () => T, options?: SyncWaitOptions): T {
    const deadline = deadlineFor(options?.timeoutMs, 'Condition.waitForSync()');
    refuseOnMain('Condition.waitForSync()', 'await cond.waitFor()');
    let result = predicate();
    while (!result) {
      const left = deadline - now();
      if (left <= 0) break;
      this.waitSync({ timeoutMs: left === Infinity ? undefined : left });
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes the first `n` waiters (default 1) in the order they started waiting; fewer if fewer
   * wait. The caller must hold the lock (`LockNotOwnedError` otherwise). Woken waiters run once
   * they re-acquire the lock, so not before the caller releases it.
   */
  notify(n = 1): void {
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`Condition.notify(): expected \`n\` to be an integer from 0 up, got \`${String(n)}\``);
    this.#checkOwned('Condition.notify()');
    this.#wakeFirst(n);
  }

  /** Wakes every waiter. The caller must hold the lock (`LockNotOwnedError` otherwise). */
  notifyAll(): void {
    this.#checkOwned('Condition.notifyAll()');
    this.#wakeFirst(Infinity);
  }

  [kShare](): SharedState {
    const state: ConditionState = { lock: this.#lock, buffer: this.#buffer, byteOffset: this.#byteOffset, capacity: this.#capacity };
    return { type: 'Condition', state };
  }

  /** Releases the lock for a wait; if that throws (a poisoned lock), frees the slot taken. */
  #releaseSave(slot: number): number {
    try {
      return this.#lock[kReleaseSave]();
    } catch (err) {
      store(this.#cell, slot, FREE);
      throw err;
    }
  }

  #checkOwned(what: string): void {
    if (!(this.#lock as LockLike)[kIsOwned]()) throw new LockNotOwnedError(`${what}: the caller must hold the condition's lock (acquire it first)`);
  }

  #next(i: number): number {
    return i + 1 === 2 * this.#capacity ? 0 : i + 1;
  }

  #word(i: number): number {
    return SLOTS + (i % this.#capacity);
  }

  /** Under the lock: takes the slot at the tail, WAITING. */
  #enqueue(what: string): number {
    this.#checkOwned(what);
    const c = this.#cell;
    const cap = this.#capacity;
    let head = load(c, HEAD);
    const tail = load(c, TAIL);
    // Past the slots no one waits in; whether a waiter is alive is asked only when a notify picks it.
    while (head !== tail && stateOf(load(c, this.#word(head))) !== WAITING) head = this.#next(head);
    store(c, HEAD, head);
    const word = this.#word(tail);
    if (deadWaiter(load(c, word))) store(c, word, FREE);
    if ((tail - head + 2 * cap) % (2 * cap) >= cap || load(c, word) !== FREE) {
      throw new InvalidStateError(`${what}: more than ${cap} waiters at once; create the Condition with a larger \`capacity\``);
    }
    store(c, word, WAITING | (myOwnerId() << OWNER_SHIFT));
    store(c, TAIL, this.#next(tail));
    return word;
  }

  /** Under the lock again: frees the slot; returns whether it was notified. */
  #dequeue(word: number, aborted: boolean): boolean {
    const c = this.#cell;
    const notified = stateOf(load(c, word)) === NOTIFIED;
    store(c, word, FREE);
    // An aborted waiter does not keep a notify meant for someone: it goes to the next waiter.
    if (aborted && notified) this.#wakeFirst(1);
    return notified;
  }

  /** Under the lock: whether the slot at `word` is WAITING with a live waiter; a dead waiter's slot is freed. */
  #liveWaiter(word: number): boolean {
    const v = load(this.#cell, word);
    if (stateOf(v) !== WAITING) return false;
    if (!ownerDied(v >>> OWNER_SHIFT)) return true;
    store(this.#cell, word, FREE);
    return false;
  }

  /** Under the lock: marks the first `n` WAITING slots of live waiters NOTIFIED and wakes them. */
  #wakeFirst(n: number): void {
    const c = this.#cell;
    const tail = load(c, TAIL);
    let i = load(c, HEAD);
    let woken = 0;
    while (i !== tail && woken < n) {
      const word = this.#word(i);
      if (this.#liveWaiter(word)) {
        store(c, word, (load(c, word) & ~STATE_BITS) | NOTIFIED);
        wake(c, word);
        woken++;
      }
      i = this.#next(i);
    }
    while (i !== tail && stateOf(load(c, this.#word(i))) !== WAITING) i = this.#next(i);
    store(c, HEAD, i);
  }

  /** Waits while the slot is WAITING. */
  *#steps(word: number, deadline: number): Steps<boolean> {
    const c = this.#cell;
    for (;;) {
      const v = load(c, word);
      if (stateOf(v) !== WAITING) return true;
      if (now() >= deadline) return false;
      yield [c, word, v, Infinity];
    }
  }
}

registerShareable('Condition', (s: ConditionState) => new Condition(s.lock, { buffer: s.buffer, byteOffset: s.byteOffset, capacity: s.capacity }));
