/**
 * `Lock`: Python's `threading.Lock` over one Int32 word of shared memory, so one instance
 * excludes async tasks of one thread and worker threads alike.
 */
import { LockNotHeldError, LockOwnerDiedError } from '../errors.ts';
import { add, compareExchange, load, notify, pause, sub, type Cell } from '../internal/atomics.ts';
import { isMainThread } from 'node:worker_threads';
import { myOwnerId, ownerDied } from '../internal/owner.ts';
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import { region, words, type MemoryOptions } from '../internal/cells.ts';
import {
  POLL_MS,
  checkMayBlock,
  deadlineFor,
  now,
  runAsync,
  runSync,
  startWait,
  type Steps,
  type SyncWaitOptions,
  type WaitOptions,
} from '../internal/park.ts';
import { holdAcquired, kAcquireRestore, kAcquireRestoreSync, kIsOwned, kReleaseSave, type LockGuard, type LockLike, withAcquired } from './lock-like.ts';
import type { SharedMemory } from '../internal/cells.ts';
import { TRACING, enterTrace, enterTraceSync, traceAcquire, traceAcquireSync, traceRelease } from '../trace/hooks.ts';

// The lock's Int32 words.
/** The lock's state, the bits below; every change of it is one compare-and-swap. Plain waiters park on it. */
const STATE = 0;
/** Plain waiters parked on STATE now; `release` skips its `notify` while it is 0. */
const WAITERS = 1;
/** Bumped whenever starving waiters must look again (a hand-off, a release, poisoning, `recover`); they park on it. */
const STARVING_SEQ = 2;
const WORDS = 4;

// STATE bits, from the lowest. Zero: unlocked, nobody starving, not poisoned.
/** Held. Set together with OWNER by the acquirer; cleared by `release` (unless it hands off) and `recover`. */
const LOCKED = 1;
/**
 * Handed off: `release` left LOCKED set, with OWNER 0, for a starving waiter, which has
 * not taken it yet. Only a starving waiter clears it (taking the lock); nobody else acquires meanwhile.
 */
const HANDED_OFF = 2;
/** Poisoned: the holder died holding it. Only `recover` clears it; until then every acquire and release throws. */
const POISONED = 4;
/**
 * One starving waiter in the STARVING count (bits 3 to 14, so at most 4095 at once). While the
 * count is not 0 nobody barges: a free lock goes to a starving waiter.
 */
const STARVING_ONE = 8;
const STARVING_MASK = 0x7ff8;
/**
 * The holder's owner id (owner.ts) in bits 15 to 31: 17 bits, room for every slot + 1. Not 0
 * exactly while LOCKED is set and HANDED_OFF is not; kept when POISONED, to name the dead holder.
 */
const OWNER_SHIFT = 15;
const OWNER_MASK = ~0x7fff;

/** Spins of `Atomics.pause` before parking: a short critical section ends without a sleep. */
const SPINS = 40;
/** Wake-ups that find the lock taken before a waiter turns starving (see the class docs). */
export const BYPASS_LIMIT = 2;

/** The state word of a lock held by this thread, nobody waiting; set by the first Lock made here. */
let LOCKED_BY_ME = 0;
const TRUE: Promise<boolean> = Promise.resolve(true);

export interface LockOptions extends MemoryOptions {
  /** Names the lock in error messages, such as "accounts" (crosses threads with the lock). */
  name?: string;
}

/**
 * A primitive lock (Python's `threading.Lock`): locked or unlocked, not owned by anyone. Any
 * thread or task may release it, not only the one that acquired it.
 *
 * All state lives in a `SharedArrayBuffer`, so the same instance excludes async tasks on one
 * thread and, passed to a `Thread` (or a raw worker via `[kShare]`), other threads too.
 * Zeroed memory is an unlocked lock.
 *
 * **Fairness.** Acquisition is not FIFO: a running thread may take a just-released lock ahead
 * of a parked waiter (that keeps throughput high). But no waiter starves: a waiter passed over
 * {@link BYPASS_LIMIT} times turns *starving*; while any waiter starves, nobody barges and each
 * `release()` hands the lock directly to a starving waiter, oldest first (the model is Go's
 * `sync.Mutex` starvation mode).
 *
 * **Owner died.** The lock records the slot of the thread that acquired it. Parked waiters wake
 * every {@link POLL_MS} ms; if that thread has died (a terminated worker) the lock becomes
 * *poisoned*: every waiter and every later `acquire`/`tryAcquire`/`release` throws
 * `LockOwnerDiedError`. The data the lock guarded may be half-updated: repair or discard it,
 * then call {@link Lock.recover} to make the lock usable (unlocked) again. A lock acquired by
 * one thread and meant to be released by another is poisoned if the first dies meanwhile.
 * Known limit: a worker killed while *starving* in `acquire` leaves a hand-off nobody takes.
 */
export class Lock implements LockLike {
  /** Bytes of shared memory one lock occupies (for laying locks out in your own buffer). */
  static readonly BYTES = WORDS * 4;

  readonly #cell: Cell;
  readonly #buffer: SharedMemory;
  readonly #byteOffset: number;
  readonly #name: string | undefined;
  /** `Lock` or `Lock "name"`, for messages; made once, so that `withLock` and `hold` do not build it per call. */
  readonly #label: string;

  constructor(options?: LockOptions) {
    const r = region(Lock.BYTES, options, 'new Lock()');
    this.#buffer = r.buffer;
    this.#byteOffset = r.byteOffset;
    this.#cell = words(r, WORDS);
    this.#name = options?.name;
    this.#label = this.#name === undefined ? 'Lock' : `Lock "${this.#name}"`;
    LOCKED_BY_ME ||= LOCKED | (myOwnerId() << OWNER_SHIFT) | 0;
  }

  /**
   * Acquires the lock; resolves `true` once held, `false` if `timeoutMs` ran out first.
   *
   * ## Cancellation and timeout
   * - `timeoutMs`: `undefined` or `-1` waits forever; `0` tries once; any other negative
   *   number rejects with `InvalidArgumentError`. A lock handed over at the deadline resolves `true`.
   * - `signal`: already aborted, or aborted while waiting, rejects with `signal.reason`; the
   *   lock is then not held by this call.
   * - Rejects with `LockOwnerDiedError` when the lock is or becomes poisoned (see the class).
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    if (TRACING && enterTrace(this)) return traceAcquire(this, this.#label, this.acquire(options), TRUE);
    if (options === undefined) {
      if (compareExchange(this.#cell, STATE, 0, LOCKED_BY_ME) === 0) return TRUE;
      return runAsync(this.#steps(Infinity), Infinity, undefined);
    }
    let deadline: number;
    try {
      deadline = startWait(options, 'Lock.acquire()');
    } catch (err) {
      return Promise.reject(err);
    }
    if (compareExchange(this.#cell, STATE, 0, LOCKED_BY_ME) === 0) return TRUE;
    return runAsync(this.#steps(deadline), deadline, options.signal);
  }

  /**
   * Acquires the lock by blocking the calling thread: `true` once held, `false` on timeout.
   * Meant for worker threads (inside a `Thread`, it blocks every Thread sharing that worker).
   *
   * ## Cancellation and timeout
   * - `timeoutMs` as for {@link Lock.acquire}; there is no signal (nothing can run meanwhile).
   * - On the main thread of the program it is refused with `InvalidStateError` whether or not
   *   the lock is free (blocking would freeze the event loop, possibly forever if an async task
   *   holds the lock), except with `timeoutMs: 0`, a plain try. Use `await lock.acquire()` there.
   */
  acquireSync(options?: SyncWaitOptions): boolean {
    if (TRACING && enterTraceSync(this)) return traceAcquireSync(this, this.#label, this.acquireSync(options));
    const deadline = deadlineFor(options?.timeoutMs, 'Lock.acquireSync()');
    if (isMainThread) checkMayBlock('Lock.acquireSync()', 'await lock.acquire()', options?.timeoutMs);
    if (compareExchange(this.#cell, STATE, 0, LOCKED_BY_ME) === 0) return true;
    return runSync(this.#steps(deadline), deadline);
  }

  /** Acquires the lock if that needs no wait (Python's `acquire(blocking=False)`). */
  tryAcquire(): boolean {
    const c = this.#cell;
    if (compareExchange(c, STATE, 0, LOCKED_BY_ME) === 0) return true;
    for (;;) {
      const s = load(c, STATE);
      if (s & POISONED) throw this.#poisoned(s);
      if ((s & (LOCKED | STARVING_MASK)) === 0) {
        if (compareExchange(c, STATE, s, s | LOCKED_BY_ME) === s) return true;
        continue;
      }
      if (!this.#poisonIfOwnerDied(s)) return false;
    }
  }

  /**
   * Releases the lock. Any thread or task may release it. Throws `LockNotHeldError` when it is
   * not locked, `LockOwnerDiedError` when it is poisoned.
   */
  release(): void {
    if (TRACING) traceRelease(this);
    const c = this.#cell;
    // Each notify says how many wait on that word in all (WAITERS, the STARVING count): when all
    // of them are async waits of this thread, the wake is handed over here (atomics.ts).
    if (compareExchange(c, STATE, LOCKED_BY_ME, 0) === LOCKED_BY_ME) {
      const waiters = load(c, WAITERS);
      if (waiters !== 0) notify(c, STATE, 1, waiters);
      return;
    }
    for (;;) {
      const s = load(c, STATE);
      if (s & POISONED) throw this.#poisoned(s);
      if ((s & LOCKED) === 0) throw new LockNotHeldError(`${this.#label}.release(): the lock is not locked (release of an unlocked lock)`);
      const handOff = (s & STARVING_MASK) !== 0 && (s & HANDED_OFF) === 0;
      const next = handOff ? (s & ~OWNER_MASK) | HANDED_OFF : s & STARVING_MASK;
      if (compareExchange(c, STATE, s, next) !== s) continue;
      if (handOff) {
        add(c, STARVING_SEQ, 1);
        notify(c, STARVING_SEQ, 1, (s & STARVING_MASK) / STARVING_ONE);
      } else {
        const waiters = load(c, WAITERS);
        if (waiters !== 0) notify(c, STATE, 1, waiters);
        if (next !== 0) {
          add(c, STARVING_SEQ, 1);
          notify(c, STARVING_SEQ);
        }
      }
      return;
    }
  }

  /** Whether the lock is held by someone (a poisoned lock reads as locked). */
  locked(): boolean {
    return (load(this.#cell, STATE) & LOCKED) !== 0;
  }

  /**
   * Whether the lock is poisoned: its holder died without releasing it. Asking looks at the
   * holder, as an acquire would: a lock whose holder is dead reads as poisoned (and is) from then on.
   */
  get poisoned(): boolean {
    for (;;) {
      const s = load(this.#cell, STATE);
      if (s & POISONED) return true;
      if (!this.#poisonIfOwnerDied(s)) return false;
    }
  }

  /**
   * Makes a poisoned lock usable again, unlocked; returns whether it was poisoned. Call it once
   * the data the lock guards is known to be consistent again.
   */
  recover(): boolean {
    const c = this.#cell;
    for (;;) {
      const s = load(c, STATE);
      if ((s & POISONED) === 0) return false;
      if (compareExchange(c, STATE, s, s & STARVING_MASK) !== s) continue;
      notify(c, STATE);
      add(c, STARVING_SEQ, 1);
      notify(c, STARVING_SEQ);
      return true;
    }
  }

  /**
   * Runs `fn` holding the lock and releases it afterwards, even if `fn` throws.
   *
   * ## Cancellation and timeout
   * As {@link Lock.acquire}; when `timeoutMs` runs out it rejects with `TimeoutError` and `fn`
   * does not run.
   */
  withLock<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    return withAcquired(this, this.#label, fn, options);
  }

  /**
   * Acquires the lock and returns a guard that releases it: `using _ = await lock.hold();`.
   *
   * ## Cancellation and timeout
   * As {@link Lock.acquire}; when `timeoutMs` runs out it rejects with `TimeoutError`.
   */
  hold(options?: WaitOptions): Promise<LockGuard> {
    return holdAcquired(this, this.#label, options);
  }

  /** `release()`, so that a held lock can be bound with `using`. */
  [Symbol.dispose](): void {
    this.release();
  }

  [kShare](): SharedState {
    return { type: 'Lock', state: { buffer: this.#buffer, byteOffset: this.#byteOffset, name: this.#name } };
  }

  [kIsOwned](): boolean {
    return this.locked();
  }

  [kReleaseSave](): number {
    this.release();
    return 1;
  }

  async [kAcquireRestore](_saved: number): Promise<void> {
    await this.acquire();
  }

  [kAcquireRestoreSync](_saved: number): void {
    this.acquireSync();
  }

  /** The wait loop of `acquire` and `acquireSync`; see the class docs for the protocol. */
  *#steps(deadline: number): Steps<boolean> {
    const c = this.#cell;
    let spins = 0;
    let bypasses = 0;
    let starving = false;
    let parked = false;
    let woken = false;
    try {
      for (;;) {
        const s = load(c, STATE);
        if (s & POISONED) throw this.#poisoned(s);
        if (starving) {
          if ((s & HANDED_OFF) !== 0 || (s & LOCKED) === 0) {
            if (compareExchange(c, STATE, s, ((s & ~(HANDED_OFF | OWNER_MASK)) - STARVING_ONE) | LOCKED_BY_ME) === s) {
              starving = false;
              return true;
            }
            continue;
          }
        } else if ((s & (LOCKED | STARVING_MASK)) === 0) {
          if (compareExchange(c, STATE, s, s | LOCKED_BY_ME) === s) return true;
          continue;
        } else if (bypasses >= BYPASS_LIMIT && (s & STARVING_MASK) !== STARVING_MASK) {
          if (compareExchange(c, STATE, s, s + STARVING_ONE) === s) starving = true;
          continue;
        }
        if (this.#poisonIfOwnerDied(s)) continue;
        if (now() >= deadline) {
          if (starving) {
            // Cleared first: the finally below must not leave (take the count) a second time.
            starving = false;
            return this.#leaveStarving(false);
          }
          // A wake-up this waiter will not use goes to the next one.
          if (woken && load(c, WAITERS) !== 0) notify(c, STATE, 1);
          return false;
        }
        if (spins < SPINS) {
          spins++;
          pause();
          continue;
        }
        if (starving) {
          const q = load(c, STARVING_SEQ);
          if (load(c, STATE) !== s) continue;
          woken = (yield [c, STARVING_SEQ, q, POLL_MS]) === 'ok';
        } else {
          add(c, WAITERS, 1);
          parked = true;
          woken = (yield [c, STATE, s, POLL_MS]) === 'ok';
          parked = false;
          sub(c, WAITERS, 1);
          bypasses++;
        }
      }
    } finally {
      if (parked) sub(c, WAITERS, 1);
      if (starving) this.#leaveStarving(true);
    }
  }

  /**
   * A starving waiter gives up (timeout, abort, poison). If the lock was handed to it meanwhile
   * it takes it: kept on timeout (returns true), released again when the wait was aborted.
   */
  #leaveStarving(aborted: boolean): boolean {
    const c = this.#cell;
    for (;;) {
      const s = load(c, STATE);
      if ((s & POISONED) === 0 && ((s & HANDED_OFF) !== 0 || (s & LOCKED) === 0)) {
        if (compareExchange(c, STATE, s, ((s & ~(HANDED_OFF | OWNER_MASK)) - STARVING_ONE) | LOCKED_BY_ME) !== s) continue;
        if (!aborted) return true;
        this.release();
        return false;
      }
      if (compareExchange(c, STATE, s, s - STARVING_ONE) === s) return false;
    }
  }

  /** Poisons the lock if its recorded owner's thread is dead; returns whether the state changed. */
  #poisonIfOwnerDied(s: number): boolean {
    if ((s & LOCKED) === 0) return false;
    if (!ownerDied(s >>> OWNER_SHIFT)) return false;
    const c = this.#cell;
    if (compareExchange(c, STATE, s, s | POISONED) !== s) return true;
    notify(c, STATE);
    add(c, STARVING_SEQ, 1);
    notify(c, STARVING_SEQ);
    return true;
  }

  #poisoned(s: number): LockOwnerDiedError {
    const owner = s >>> OWNER_SHIFT;
    const who = owner === 0 ? 'the thread that held it' : `the thread in slot ${owner - 1} that held it`;
    return new LockOwnerDiedError(
      `${this.#label} is poisoned: ${who} died without releasing it. The data it guards may be half-updated; ` +
        'repair or discard it, then call lock.recover() to make the lock usable again',
    );
  }
}

registerShareable('Lock', (state: { buffer: SharedMemory; byteOffset: number; name?: string }) => new Lock(state));
