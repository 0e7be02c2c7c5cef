/**
 * `Event`: Python's `threading.Event`, a flag in shared memory that waiters wait to be set.
 */
import { compareExchange, load, notify, type Cell } from '../internal/atomics.ts';
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import { region, words, type MemoryOptions } from '../internal/cells.ts';
import { checkMayBlock, deadlineFor, now, runAsync, runSync, startWait, type Steps, type SyncWaitOptions, type WaitOptions } from '../internal/park.ts';
import type { SharedMemory } from '../internal/cells.ts';

/** The one word: the SET bit, and above it the SETS count. */
const WORD = 0;
const WORDS = 2;

// WORD bits.
/** The flag: set by `set()`, cleared by `clear()`. */
const SET = 1;
/**
 * One `set()` that changed the flag, in the count above SET (it wraps around). A waiter that
 * sees the word change from what it parked on knows a `set()` happened, even when `clear()`
 * followed before the waiter ran: `clear()` alone cannot change a clear word.
 */
const SETS_ONE = 2;

const TRUE: Promise<boolean> = Promise.resolve(true);

/** Where an `Event` attaches, when it does not allocate its own memory. Zeroed memory is a clear event. */
export type EventOptions = MemoryOptions;

/**
 * A flag that tasks and threads wait on (Python's `threading.Event`). `set()` wakes every
 * waiter; `clear()` resets the flag. A waiter woken by `set()` returns `true` even if `clear()`
 * followed before it ran, as in Python.
 */
export class Event {
  /** Bytes of shared memory one event occupies. */
  static readonly BYTES = WORDS * 4;

  readonly #cell: Cell;
  readonly #buffer: SharedMemory;
  readonly #byteOffset: number;

  constructor(options?: EventOptions) {
    const r = region(Event.BYTES, options, 'new Event()');
    this.#buffer = r.buffer;
    this.#byteOffset = r.byteOffset;
    this.#cell = words(r, WORDS);
  }

  /** Whether the flag is set. */
  isSet(): boolean {
    return (load(this.#cell, WORD) & SET) !== 0;
  }

  /** Sets the flag and wakes every waiter. */
  set(): void {
    const c = this.#cell;
    for (;;) {
      const s = load(c, WORD);
      if (s & SET) return;
      if (compareExchange(c, WORD, s, (s + SETS_ONE + SET) | 0) === s) break;
    }
    notify(c, WORD);
  }

  /** Clears the flag: later waits block until the next `set()`. */
  clear(): void {
    const c = this.#cell;
    for (;;) {
      const s = load(c, WORD);
      if ((s & SET) === 0 || compareExchange(c, WORD, s, s & ~SET) === s) return;
    }
  }

  /**
   * Waits until the flag is set; resolves `true` then (at once if it is set already), `false`
   * if `timeoutMs` ran out first.
   *
   * ## Cancellation and timeout
   * - `timeoutMs`: `undefined` or `-1` waits forever; `0` only reads the flag; other negatives
   *   reject with `InvalidArgumentError`.
   * - `signal`: already aborted, or aborted while waiting, rejects with `signal.reason`.
   */
  wait(options?: WaitOptions): Promise<boolean> {
    if (options === undefined && this.isSet()) return TRUE;
    let deadline: number;
    try {
      deadline = startWait(options, 'Event.wait()');
    } catch (err) {
      return Promise.reject(err);
    }
    return runAsync(this.#steps(deadline), deadline, options?.signal);
  }

  /**
   * Blocking {@link Event.wait} for worker threads.
   *
   * ## Cancellation and timeout
   * `timeoutMs` as for {@link Event.wait}. On the main thread of the program it is refused with
   * `InvalidStateError` whether or not the flag is set, except with `timeoutMs: 0` (reads the flag).
   */
  waitSync(options?: SyncWaitOptions): boolean {
    const deadline = deadlineFor(options?.timeoutMs, 'Event.waitSync()');
    checkMayBlock('Event.waitSync()', 'await event.wait()', options?.timeoutMs);
    if (this.isSet()) return true;
    return runSync(this.#steps(deadline), deadline);
  }

  [kShare](): SharedState {
    return { type: 'Event', state: { buffer: this.#buffer, byteOffset: this.#byteOffset } };
  }

  *#steps(deadline: number): Steps<boolean> {
    const c = this.#cell;
    const seen = load(c, WORD);
    for (;;) {
      const s = load(c, WORD);
      // Any change from a clear flag is a set() (clear() alone cannot change a clear word).
      if (s & SET || s !== seen) return true;
      if (now() >= deadline) return false;
      yield [c, WORD, s, Infinity];
    }
  }
}

registerShareable('Event', (state: { buffer: SharedMemory; byteOffset: number }) => new Event(state));
