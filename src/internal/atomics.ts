/**
 * The one place threadkit calls `Atomics`. Every shared-memory primitive goes through these
 * functions, so a test can count operations or a future checker can inject interleavings here.
 *
 * Cells live either in a SharedArrayBuffer (threads of one process) or in memory shared between
 * processes (an ArrayBuffer mapped by the native addon, see shm.ts). Compare-and-swap and the
 * other read-modify-write operations work on both; waiting and waking differ: V8 keeps
 * `Atomics.wait`'s waiters per process, so process-shared cells park on Linux futexes instead.
 */
import { addon } from './shm.ts';

export type Cell = Int32Array<ArrayBufferLike>;
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

const RESULTS: readonly WaitResult[] = ['ok', 'not-equal', 'timed-out'];

export const load = (cell: Cell, i: number): number => Atomics.load(cell, i);
export const store = (cell: Cell, i: number, v: number): number => Atomics.store(cell, i, v);
export const add = (cell: Cell, i: number, v: number): number => Atomics.add(cell, i, v);
export const sub = (cell: Cell, i: number, v: number): number => Atomics.sub(cell, i, v);
export const exchange = (cell: Cell, i: number, v: number): number => Atomics.exchange(cell, i, v);
/** Returns the value that was there: the swap happened when it equals `expected`. */
export const compareExchange = (cell: Cell, i: number, expected: number, replacement: number): number =>
  Atomics.compareExchange(cell, i, expected, replacement);

const isShared = (cell: Cell): boolean => cell.buffer instanceof SharedArrayBuffer;
const byteOffsetOf = (cell: Cell, i: number): number => cell.byteOffset + i * 4;

/** Counts notifies of process-shared cells made in this thread; see `processWaitAsync`. */
let kicks = 0;

export function notify(cell: Cell, i: number, count = Infinity): number {
  if (isShared(cell)) return Atomics.notify(cell as Int32Array<SharedArrayBuffer>, i, count);
  kicks++;
  return addon!.wake(cell.buffer as ArrayBuffer, byteOffsetOf(cell, i), count);
}

/** Blocks the calling thread. Never call it on the main thread of a process with an event loop to keep. */
export function waitSync(cell: Cell, i: number, expected: number, timeoutMs?: number): WaitResult {
  if (isShared(cell)) return Atomics.wait(cell as Int32Array<SharedArrayBuffer>, i, expected, timeoutMs);
  return RESULTS[addon!.wait(cell.buffer as ArrayBuffer, byteOffsetOf(cell, i), expected, timeoutMs)]!;
}

type Pause = (iterations?: number) => void;
const atomicsPause = (Atomics as unknown as { pause?: Pause }).pause;
/** A CPU hint inside spin loops (`Atomics.pause`, Node 24); a no-op where it does not exist. */
export const pause: Pause = atomicsPause ? (n) => atomicsPause(n) : () => {};

/**
 * Watches word `i` for at most `ms` while it equals `value`, without parking: true once it
 * moved, false at the deadline. For a hand-off expected within microseconds, where parking (a
 * futex, a trip through the event loop) would cost more than the wait. The clock is read once
 * per 64 looks.
 */
export function spinWhileEqual(cell: Cell, i: number, value: number, ms: number): boolean {
  const until = performance.now() + ms;
  do {
    for (let n = 0; n < 64; n++) {
      if (Atomics.load(cell, i) !== value) return true;
      pause();
    }
  } while (performance.now() < until);
  return false;
}

let keepAliveCount = 0;
let keepAliveTimer: ReturnType<typeof setInterval> | undefined;

/**
 * `Atomics.waitAsync` without the trap: a pending waitAsync does not keep Node's event loop
 * alive (nodejs/node#61941), so a process whose only work is such a wait would exit early.
 * While any wait is pending, one ref'd interval holds the loop open.
 */
export function waitAsync(cell: Cell, i: number, expected: number, timeoutMs?: number): Promise<WaitResult> {
  if (!isShared(cell)) return processWaitAsync(cell, i, expected, timeoutMs);
  const r = Atomics.waitAsync(cell as Int32Array<SharedArrayBuffer>, i, expected, timeoutMs);
  if (!r.async) return Promise.resolve(r.value);
  if (keepAliveCount++ === 0) keepAliveTimer = setInterval(() => {}, 1 << 30);
  return r.value.finally(() => {
    if (--keepAliveCount === 0) clearInterval(keepAliveTimer);
  });
}

/** How long one futex wait of `processWaitAsync` lasts before it looks around. */
const SLICE_MS = 20;
/** How long `processWaitAsync` watches the word before it parks. */
const SPIN_MS = 0.1;

/**
 * An async wait on a process-shared cell. The addon waits on a thread of its own, which enters
 * the futex a little after this call returns; a notify in that gap that does not change the
 * word (a waiter kicked out by an abort) would be lost. So the wait runs in short slices and
 * ends early, as a spurious wake-up callers re-check anyway, when this thread has notified
 * since it began. A notify that changes the word is never lost: the futex compares it.
 */
async function processWaitAsync(cell: Cell, i: number, expected: number, timeoutMs?: number): Promise<WaitResult> {
  const start = performance.now();
  const deadline = timeoutMs === undefined ? Infinity : start + timeoutMs;
  // Parking costs a thread and a trip through the event loop (tens of µs): a lone waiter first
  // watches the word for a moment, which catches a partner process that answers quickly. With
  // other waits pending here, spinning would only hold up the event loop they need.
  if (parked === 0 && spinWhileEqual(cell, i, expected, Math.min(deadline - start, SPIN_MS))) return 'not-equal';
  const seen = kicks;
  parked++;
  try {
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return 'timed-out';
      const r = await addon!.waitAsync(cell.buffer as ArrayBuffer, byteOffsetOf(cell, i), expected, Math.min(SLICE_MS, left));
      if (r !== 2) return RESULTS[r]!;
      if (kicks !== seen) return 'ok';
    }
  } finally {
    parked--;
  }
}

/** Process-shared async waits pending in this thread. */
let parked = 0;
