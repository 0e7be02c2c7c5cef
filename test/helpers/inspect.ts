/**
 * Reads a primitive's shared words, so a test can check the exact state a call left behind
 * (not only what it returned): no stray starving count, no waiter still counted.
 */
import { kShare } from '../../dist/internal/for-tests.js';

function words(prim: object, n: number): Int32Array {
  const { state } = (prim as { [kShare](): { state: { buffer: ArrayBufferLike; byteOffset: number } } })[kShare]();
  return new Int32Array(state.buffer, state.byteOffset, n);
}

/** A Lock's (or an RLock's inner lock's) words: the state and the parked-waiter count. */
export function lockWords(lock: object): { state: number; waiters: number } {
  const w = words(lock, 2);
  return { state: Atomics.load(w, 0), waiters: Atomics.load(w, 1) };
}

/** A Lock's state word with the owner bits masked off: 0 free, 1 locked; anything else is a leftover. */
export function lockFlags(lock: object): number {
  return lockWords(lock).state & 0x7fff;
}

/** A Semaphore's words: the value and the parked-waiter count. */
export function semaphoreWords(sem: object): { value: number; waiters: number } {
  const w = words(sem, 2);
  return { value: Atomics.load(w, 0), waiters: Atomics.load(w, 1) };
}

/** How many slots of a Condition's waiter ring are not free (waiting or notified-not-yet-left). */
export function conditionSlotsInUse(cond: object, capacity = 1024): number {
  const { state } = (cond as { [kShare](): { state: { buffer: ArrayBufferLike; byteOffset: number } } })[kShare]();
  const w = new Int32Array(state.buffer, state.byteOffset, 2 + capacity);
  let n = 0;
  for (let i = 2; i < w.length; i++) if (Atomics.load(w, i) !== 0) n++;
  return n;
}

/** A Queue's ring header: records, waiting getters, putters and pollers, unfinished tasks, and whether its mutex is free. */
export function queueWords(queue: object): { count: number; getters: number; putters: number; pollers: number; unfinished: number; mutexFree: boolean } {
  const { state } = (queue as { [kShare](): { state: { ring: { buffer: ArrayBufferLike } } } })[kShare]();
  const w = new Int32Array(state.ring.buffer, 0, 16);
  return { count: w[1]!, getters: w[7]!, putters: w[8]!, pollers: w[9]!, unfinished: w[13]!, mutexFree: w[0] === 0 };
}
