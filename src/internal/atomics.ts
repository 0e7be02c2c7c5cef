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

/**
 * Wakes up to `count` waiters parked on word `i`. `waiters`, when the caller knows it, is how
 * many wait on that word in all threads and processes (a count the primitive keeps in shared
 * memory): when every one of them is an async wait of this thread on process-shared memory,
 * the wake is handed to them here, without a trip through the kernel and a native thread (a
 * lock passed between async tasks of one thread: ~15 µs median instead of ~60 µs, timer included). Otherwise, as
 * without `waiters`, the kernel picks, so that waiters elsewhere get their turn.
 */
export function notify(cell: Cell, i: number, count = Infinity, waiters?: number): number {
  if (isShared(cell)) return Atomics.notify(cell as Int32Array<SharedArrayBuffer>, i, count);
  const buffer = cell.buffer as ArrayBuffer;
  const offset = byteOffsetOf(cell, i);
  const here = localWaiters.get(buffer)?.get(offset);
  if (here === undefined) return addon!.wake(buffer, offset, count);
  if (waiters !== undefined && here.size >= waiters && count !== Infinity) return wakeHere(here, count);
  // Everyone, or the kernel's pick: the waiters of this thread are woken here too when it is
  // everyone (a wake that changes no word, such as an abort's, could otherwise miss a waiter
  // whose native thread has not entered the futex yet).
  const woken = count === Infinity ? wakeHere(here, count) : 0;
  return woken + addon!.wake(buffer, offset, count);
}

/**
 * How long a synchronous wait on process-shared memory stays in the kernel at a time. A worker
 * thread parked in a futex cannot be stopped: `worker.terminate()`, and the end of the program
 * (which stops every worker, daemon Threads included, and waits for them), take effect only once
 * JavaScript runs again there. `Atomics.wait` is interrupted by them; the addon's wait is not, so
 * it is cut into slices of this length, and between two slices the stop takes effect.
 */
const SYNC_SLICE_MS = 50;

/** Blocks the calling thread. Never call it on the main thread of a process with an event loop to keep. */
export function waitSync(cell: Cell, i: number, expected: number, timeoutMs?: number): WaitResult {
  if (isShared(cell)) return Atomics.wait(cell as Int32Array<SharedArrayBuffer>, i, expected, timeoutMs);
  const buffer = cell.buffer as ArrayBuffer;
  const offset = byteOffsetOf(cell, i);
  const forever = timeoutMs === undefined || timeoutMs === Infinity;
  if (!forever && timeoutMs <= SYNC_SLICE_MS) return RESULTS[addon!.wait(buffer, offset, expected, timeoutMs)]!;
  const deadline = forever ? Infinity : performance.now() + timeoutMs;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return 'timed-out';
    const r = RESULTS[addon!.wait(buffer, offset, expected, Math.min(SYNC_SLICE_MS, left))]!;
    // A slice that ran out is no answer yet; the word is looked at again as the next slice starts.
    if (r !== 'timed-out') return r;
  }
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

/** Holds the event loop open while a wait is pending (neither kind of wait does by itself). */
function holdLoop(): void {
  if (keepAliveCount++ === 0) keepAliveTimer = setInterval(() => {}, 1 << 30);
}

function releaseLoop(): void {
  if (--keepAliveCount === 0) clearInterval(keepAliveTimer);
}

/**
 * `Atomics.waitAsync` without the trap: a pending waitAsync does not keep Node's event loop
 * alive (nodejs/node#61941), so a process whose only work is such a wait would exit early.
 * While any wait is pending, one ref'd interval holds the loop open.
 */
export function waitAsync(cell: Cell, i: number, expected: number, timeoutMs?: number): Promise<WaitResult> {
  if (!isShared(cell)) return processWaitAsync(cell, i, expected, timeoutMs);
  const r = Atomics.waitAsync(cell as Int32Array<SharedArrayBuffer>, i, expected, timeoutMs);
  if (!r.async) return Promise.resolve(r.value);
  holdLoop();
  return r.value.finally(releaseLoop);
}

/**
 * The longest one native wait of `processWaitAsync` lasts before it is renewed. A wait whose
 * waiter was woken here ({@link notify}) stays parked in the kernel until then, on a native
 * thread, so this bounds those.
 */
const SLICE_MS = 100;
/** How long `processWaitAsync` watches the word before it parks. */
const SPIN_MS = 0.1;

/** An async wait on a process-shared word, pending in this thread; `wake` ends it with 'ok'. */
interface LocalWaiter {
  wake(): void;
}

/** This thread's pending process-shared async waits, by mapping and byte offset, oldest first. */
const localWaiters = new WeakMap<ArrayBuffer, Map<number, Set<LocalWaiter>>>();

/** Waits ended by {@link notify} in this thread without the kernel, for tests. */
let endedHere = 0;
export const wakesHere = (): number => endedHere;

function wakeHere(here: Set<LocalWaiter>, count: number): number {
  let n = 0;
  for (const w of here) {
    if (n >= count) break;
    here.delete(w);
    w.wake();
    n++;
  }
  endedHere += n;
  return n;
}

const WOKEN_HERE = 3;

/**
 * An async wait on a process-shared cell. The addon waits on a native thread, which parks on
 * the futex; a notify made by this thread may also end the wait directly ({@link notify}).
 * The native wait is then left behind: should a wake from elsewhere reach it, that wake was
 * meant for some waiter, so it is passed on with another wake of one.
 */
async function processWaitAsync(cell: Cell, i: number, expected: number, timeoutMs?: number): Promise<WaitResult> {
  const start = performance.now();
  const deadline = timeoutMs === undefined ? Infinity : start + timeoutMs;
  // Parking costs a thread and a trip through the event loop (tens of µs): a lone waiter first
  // watches the word for a moment, which catches a partner process that answers quickly. With
  // other waits pending here, spinning would only hold up the event loop they need.
  if (parked === 0 && spinWhileEqual(cell, i, expected, Math.min(deadline - start, SPIN_MS))) return 'not-equal';
  const buffer = cell.buffer as ArrayBuffer;
  const offset = byteOffsetOf(cell, i);
  const byOffset = localWaiters.get(buffer) ?? new Map<number, Set<LocalWaiter>>();
  localWaiters.set(buffer, byOffset);
  const here = byOffset.get(offset) ?? new Set<LocalWaiter>();
  byOffset.set(offset, here);
  let wake!: () => void;
  const wokenHere = new Promise<typeof WOKEN_HERE>((resolve) => {
    wake = () => resolve(WOKEN_HERE);
  });
  const me: LocalWaiter = { wake };
  here.add(me);
  parked++;
  holdLoop();
  try {
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return 'timed-out';
      const native = addon!.waitAsync(buffer, offset, expected, Math.min(SLICE_MS, left));
      // Woken by the kernel: no longer a waiter a notify here may count, from this microtask on.
      const settled = native.then((code) => {
        if (code !== 2) here.delete(me);
        return code;
      });
      const r = await Promise.race([settled, wokenHere]);
      if (r === WOKEN_HERE) {
        void native.then((code) => {
          if (code === 0) addon!.wake(buffer, offset, 1);
        });
        return 'ok';
      }
      if (r !== 2) return RESULTS[r]!;
    }
  } finally {
    parked--;
    releaseLoop();
    here.delete(me);
    if (here.size === 0 && byOffset.get(offset) === here) byOffset.delete(offset);
  }
}

/** Process-shared async waits pending in this thread. */
let parked = 0;
