/**
 * `SharedArray`: Python's `multiprocessing.Array`, a shared array with a lock. (Not named
 * `Array`, which would shadow the global.)
 */
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import type { Lock } from '../sync/lock.ts';
import type { RLock } from '../sync/rlock.ts';
import { RawArray, type RawArrayState } from './raw-array.ts';
import type { ElementOf, Typecode } from './typecodes.ts';
import { lockFor, noLockError, type SynchronizedOptions } from './synchronized.ts';

interface SharedArrayState extends RawArrayState {
  lock: Lock | RLock | null;
}

/**
 * A fixed-length shared array with a lock, like Python's `multiprocessing.Array`:
 *
 * ```ts
 * const totals = new SharedArray('d', 10);          // ten zeros
 * const ids = new SharedArray('i', [1, 2, 3]);      // from elements
 * await totals.getLock().withLock(() => totals.set(0, totals.get(0) + 1.5));
 * ```
 *
 * Element access does not take the lock by itself (see `Value`).
 */
export class SharedArray<T extends Typecode = Typecode> extends RawArray<T> {
  readonly #lock: Lock | RLock | undefined;

  constructor(typecode: T, sizeOrInit: number | Iterable<ElementOf<T>>, options?: SynchronizedOptions) {
    super(typecode, sizeOrInit, options);
    this.#lock = lockFor(options, 'new SharedArray()');
  }

  /** The lock that guards this array (Python's `get_lock()`). */
  getLock(): Lock | RLock {
    if (!this.#lock) throw noLockError('SharedArray');
    return this.#lock;
  }

  /** The array without its lock, over the same memory (Python's `get_obj()`). */
  getObj(): RawArray<T> {
    return new RawArray(this.typecode, this.length, { buffer: this.view.buffer, byteOffset: this.view.byteOffset });
  }

  override [kShare](): SharedState {
    const state: SharedArrayState = { ...this.rawState(), lock: this.#lock ?? null };
    return { type: 'SharedArray', state };
  }
}

registerShareable(
  'SharedArray',
  (s: SharedArrayState) => new SharedArray(s.typecode, s.length, { buffer: s.buffer, byteOffset: s.byteOffset, lock: s.lock ?? false }),
);
