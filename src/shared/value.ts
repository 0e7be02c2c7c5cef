/**
 * `Value`: one number in shared memory with a lock (Python's `multiprocessing.Value`).
 */
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import type { Lock } from '../sync/lock.ts';
import type { RLock } from '../sync/rlock.ts';
import { RawValue, type RawValueState } from './raw-value.ts';
import { lockFor, noLockError, type SynchronizedOptions } from './synchronized.ts';
import type { ElementOf, Typecode } from './typecodes.ts';

interface ValueState extends RawValueState {
  lock: Lock | RLock | null;
}

/**
 * A shared value with a lock, like Python's `multiprocessing.Value(typecode, value)`:
 *
 * ```ts
 * const counter = new Value('i', 0);
 * await counter.getLock().withLock(() => { counter.value += 1; });
 * ```
 *
 * As in Python, `.value` itself reads and writes the memory; the lock is for making
 * read-modify-write sequences atomic. Unlike Python, `.value` does not take the lock on each
 * access (that would need to block; see `RawValue` for what a single access guarantees).
 */
export class Value<T extends Typecode = Typecode> extends RawValue<T> {
  readonly #lock: Lock | RLock | undefined;

  /**
   * @param value the initial value (default 0 / 0n); ignored when attaching to `options.buffer`.
   */
  constructor(typecode: T, value?: ElementOf<T>, options?: SynchronizedOptions) {
    super(typecode, value, options);
    this.#lock = lockFor(options, 'new Value()');
  }

  /** The lock that guards this value (Python's `get_lock()`). */
  getLock(): Lock | RLock {
    if (!this.#lock) throw noLockError('Value');
    return this.#lock;
  }

  /** The value without its lock, over the same memory (Python's `get_obj()`). */
  getObj(): RawValue<T> {
    return new RawValue(this.typecode, undefined, { buffer: this.view.buffer, byteOffset: this.view.byteOffset });
  }

  override [kShare](): SharedState {
    const state: ValueState = { ...this.rawState(), lock: this.#lock ?? null };
    return { type: 'Value', state };
  }
}

registerShareable('Value', (s: ValueState) => new Value(s.typecode, undefined, { buffer: s.buffer, byteOffset: s.byteOffset, lock: s.lock ?? false }));
