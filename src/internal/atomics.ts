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

export function notify(cell: Cell, i: number, count = Infinity): number {
  if (isShared(cell)) return Atomics.notify(cell as Int32Array<SharedArrayBuffer>, i, count);
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

let keepAliveCount = 0;
let keepAliveTimer: ReturnType<typeof setInterval> | undefined;

/**
 * `Atomics.waitAsync` without the trap: a pending waitAsync does not keep Node's event loop
 * alive (nodejs/node#61941), so a process whose only work is such a wait would exit early.
 * While any wait is pending, one ref'd interval holds the loop open.
 */
export function waitAsync(cell: Cell, i: number, expected: number, timeoutMs?: number): Promise<WaitResult> {
  if (!isShared(cell)) {
    // The addon's wait runs on a thread of its own and holds the loop open while it waits.
    return addon!.waitAsync(cell.buffer as ArrayBuffer, byteOffsetOf(cell, i), expected, timeoutMs).then((r) => RESULTS[r]!);
  }
  const r = Atomics.waitAsync(cell as Int32Array<SharedArrayBuffer>, i, expected, timeoutMs);
  if (!r.async) return Promise.resolve(r.value);
  if (keepAliveCount++ === 0) keepAliveTimer = setInterval(() => {}, 1 << 30);
  return r.value.finally(() => {
    if (--keepAliveCount === 0) clearInterval(keepAliveTimer);
  });
}
