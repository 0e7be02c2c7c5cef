/**
 * `RLock`: Python's `threading.RLock`, a lock its owner may acquire again, over shared memory.
 */
import { LockNotHeldError, LockNotOwnedError } from '../errors.ts';
import { load, store, type Cell } from '../internal/atomics.ts';
import { myOwnerId } from '../internal/owner.ts';
import { currentTaskId } from '../internal/runtime.ts';
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import { region, words } from '../internal/cells.ts';
import { Lock, type LockOptions } from './lock.ts';
import { checkSignal, checkTimeout } from '../internal/timeout.ts';
import { checkMayBlock, type SyncWaitOptions, type WaitOptions } from '../internal/park.ts';
import { holdAcquired, kAcquireRestore, kAcquireRestoreSync, kIsOwned, kReleaseSave, type LockGuard, type LockLike, withAcquired } from './lock-like.ts';
import type { SharedMemory } from '../internal/cells.ts';

// Words after the inner Lock's. Only the thread holding the inner Lock writes them; all three
// are 0 while nobody owns the RLock.
/** The owner's OS thread: its owner id (owner.ts). */
const OWNER = Lock.BYTES / 4;
/** The owner's threadkit `Thread` on that OS thread (runtime.ts `currentTaskId`; 0: none). */
const OWNER_TASK = OWNER + 1;
/** The recursion depth: acquisitions by the owner not yet released, 1 or more while owned. */
const DEPTH = OWNER + 2;
const WORDS = OWNER + 4;

const TRUE: Promise<boolean> = Promise.resolve(true);

/** As a `Lock`'s: where its memory lies, and a name for error messages (crosses threads with it). */
export type RLockOptions = LockOptions;

/**
 * A reentrant lock (Python's `threading.RLock`). Its owner is the pair (OS thread, threadkit
 * `Thread`) that acquired it: the owner may acquire it again, and must release it as many times.
 * Only the owner may release it.
 *
 * Outside any threadkit `Thread`, all code on one OS thread (e.g. every plain async function on
 * the main thread) counts as one owner, as all code of one Python thread does: such an RLock
 * does not exclude two plain async functions from each other. Use a `Lock` for that, or run
 * them as `Thread`s.
 *
 * Fairness, owner-died poisoning and `recover()` are those of {@link Lock}. Zeroed memory is an
 * unlocked RLock.
 */
export class RLock implements LockLike {
  /** Bytes of shared memory one RLock occupies. */
  static readonly BYTES = WORDS * 4;

  readonly #cell: Cell;
  /** The inner Lock, at the start of the RLock's memory: it holds the region, the name and the mutual exclusion. */
  readonly #lock: Lock;
  readonly #name: string | undefined;
  /** `RLock` or `RLock "name"`, for messages; made once, so that `withLock` and `hold` do not build it per call. */
  readonly #label: string;

  constructor(options?: RLockOptions) {
    const r = region(RLock.BYTES, options, 'new RLock()');
    this.#cell = words(r, WORDS);
    this.#name = options?.name;
    this.#label = this.#name === undefined ? 'RLock' : `RLock "${this.#name}"`;
    this.#lock = new Lock({ buffer: r.buffer, byteOffset: r.byteOffset, name: options?.name });
  }

  /**
   * Acquires the lock, or increases the recursion depth when the caller already owns it;
   * resolves `true` once held, `false` if `timeoutMs` ran out first.
   *
   * ## Cancellation and timeout
   * - `timeoutMs`: `undefined` or `-1` waits forever; `0` tries once; other negatives reject
   *   with `InvalidArgumentError`.
   * - `signal`: already aborted, or aborted while waiting, rejects with `signal.reason`; the
   *   lock is then not acquired (nor its depth increased) by this call.
   * - Rejects with `LockOwnerDiedError` when the lock is poisoned.
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    const task = currentTaskId();
    if (options !== undefined) {
      try {
        checkTimeout(options.timeoutMs, 'RLock.acquire()');
        checkSignal(options.signal, 'RLock.acquire()');
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    if (this.#owns(task)) {
      store(this.#cell, DEPTH, load(this.#cell, DEPTH) + 1);
      return TRUE;
    }
    try {
      if (options === undefined && this.#lock.tryAcquire()) {
        this.#own(task);
        return TRUE;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#lock.acquire(options).then((ok) => {
      if (ok) this.#own(task);
      return ok;
    });
  }

  /**
   * Blocking {@link RLock.acquire} for worker threads.
   *
   * ## Cancellation and timeout
   * As {@link Lock.acquireSync}: on the main thread of the program it is refused with
   * `InvalidStateError` (even for a re-entry or a free lock), except with `timeoutMs: 0`.
   */
  acquireSync(options?: SyncWaitOptions): boolean {
    checkTimeout(options?.timeoutMs, 'RLock.acquireSync()');
    checkMayBlock('RLock.acquireSync()', 'await rlock.acquire()', options?.timeoutMs);
    const task = currentTaskId();
    if (this.#owns(task)) {
      store(this.#cell, DEPTH, load(this.#cell, DEPTH) + 1);
      return true;
    }
    if (!this.#lock.acquireSync(options)) return false;
    this.#own(task);
    return true;
  }

  /** Acquires (or re-enters) the lock if that needs no wait. */
  tryAcquire(): boolean {
    const task = currentTaskId();
    if (this.#owns(task)) {
      store(this.#cell, DEPTH, load(this.#cell, DEPTH) + 1);
      return true;
    }
    if (!this.#lock.tryAcquire()) return false;
    this.#own(task);
    return true;
  }

  /**
   * Decreases the recursion depth; at zero the lock is unlocked. Throws `LockNotHeldError` when
   * nobody holds it and `LockNotOwnedError` when someone else does.
   */
  release(): void {
    const c = this.#cell;
    if (!this.#lock.locked()) throw new LockNotHeldError(`${this.#label}.release(): the lock is not held (release of an un-acquired lock)`);
    if (!this.#owns(currentTaskId())) {
      throw new LockNotOwnedError(`${this.#label}.release(): the lock is held by another thread or task; only its owner may release it`);
    }
    const depth = load(c, DEPTH) - 1;
    if (depth > 0) {
      store(c, DEPTH, depth);
      return;
    }
    this.#disown();
    this.#lock.release();
  }

  /** Whether the lock is held by anyone. */
  locked(): boolean {
    return this.#lock.locked();
  }

  /** Whether the calling thread/task owns the lock. */
  isOwned(): boolean {
    return this.#owns(currentTaskId());
  }

  /** Whether the lock is poisoned (see {@link Lock}). */
  get poisoned(): boolean {
    return this.#lock.poisoned;
  }

  /** Makes a poisoned lock usable again, unlocked; returns whether it was poisoned (see {@link Lock.recover}). */
  recover(): boolean {
    if (!this.#lock.poisoned) return false;
    this.#disown();
    return this.#lock.recover();
  }

  /** As {@link Lock.withLock}, over {@link RLock.acquire}: runs `fn` holding the lock, then releases it once. */
  withLock<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    return withAcquired(this, this.#label, fn, options);
  }

  /** As {@link Lock.hold}, over {@link RLock.acquire}: `using _ = await rlock.hold();` releases it once. */
  hold(options?: WaitOptions): Promise<LockGuard> {
    return holdAcquired(this, this.#label, options);
  }

  /** `release()`, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }

  [kShare](): SharedState {
    // The inner Lock's state names the whole region: an RLock is rebuilt over the same memory.
    return { type: 'RLock', state: this.#lock[kShare]().state };
  }

  [kIsOwned](): boolean {
    return this.isOwned();
  }

  [kReleaseSave](): number {
    if (!this.isOwned()) throw new LockNotOwnedError(`${this.#label}: not owned by the caller`);
    const depth = load(this.#cell, DEPTH);
    this.#disown();
    this.#lock.release();
    return depth;
  }

  async [kAcquireRestore](depth: number): Promise<void> {
    const task = currentTaskId();
    await this.#lock.acquire();
    this.#own(task, depth);
  }

  [kAcquireRestoreSync](depth: number): void {
    const task = currentTaskId();
    this.#lock.acquireSync();
    this.#own(task, depth);
  }

  #owns(task: number): boolean {
    return load(this.#cell, OWNER) === myOwnerId() && load(this.#cell, OWNER_TASK) === task;
  }

  #own(task: number, depth = 1): void {
    const c = this.#cell;
    store(c, DEPTH, depth);
    store(c, OWNER_TASK, task);
    store(c, OWNER, myOwnerId());
  }

  #disown(): void {
    const c = this.#cell;
    store(c, OWNER, 0);
    store(c, OWNER_TASK, 0);
    store(c, DEPTH, 0);
  }
}

registerShareable('RLock', (state: { buffer: SharedMemory; byteOffset: number; name?: string }) => new RLock(state));
