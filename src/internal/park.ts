/**
 * How every blocking method waits. A method's wait loop is written once, as a generator that
 * yields "park on this word while it still holds this value" requests; `runAsync` serves them
 * with `Atomics.waitAsync` (the event loop keeps running), `runSync` with `Atomics.wait` (the
 * thread blocks). Timeouts, `AbortSignal`s and cleanup therefore behave the same both ways:
 * an abort is thrown into the generator at its `yield`, so its `finally` undoes what it did.
 *
 * Also here: the options every wait takes (`WaitOptions`, `SyncWaitOptions`; `timeoutMs` as
 * timeout.ts rules), and the rule that refuses a blocking `…Sync` wait on the main thread.
 * Used by every primitive of sync/ and every queue and pipe of queue/.
 */
import { isMainThread } from 'node:worker_threads';
import { InvalidStateError } from '../errors.ts';
import { notify, waitAsync, waitSync, type Cell, type WaitResult } from './atomics.ts';
import { checkSignal, checkTimeout } from './timeout.ts';
import { inThreadkitChild } from '../process/current.ts';

/** Park on `cell[index]` while it equals `expected`, for at most `sliceMs` (then re-check). */
export type Park = readonly [cell: Cell, index: number, expected: number, sliceMs: number];

/** A wait loop: yields parks, receives their results, returns the method's result. */
export type Steps<T> = Generator<Park, T, WaitResult>;

/** Options of every async blocking method. */
export interface WaitOptions {
  /** Give up after this many milliseconds. `undefined` or `-1`: wait forever. `0`: do not wait. See timeout.ts. */
  timeoutMs?: number;
  /** Abort the wait: the promise rejects with `signal.reason`, and nothing is left acquired. */
  signal?: AbortSignal;
}

/** Options of every blocking (`…Sync`) method. */
export interface SyncWaitOptions {
  /** Give up after this many milliseconds. `undefined` or `-1`: wait forever. `0`: do not wait. See timeout.ts. */
  timeoutMs?: number;
}

/** How often a parked waiter wakes to re-check things nobody notifies about (a lock owner's death). */
export const POLL_MS = 50;

export const now = (): number => performance.now();

/** The `performance.now()` by which a wait gives up: `Infinity` for no limit. Checks `timeoutMs` (timeout.ts). */
export function deadlineFor(timeoutMs: number | undefined, what: string): number {
  const ms = checkTimeout(timeoutMs, what);
  return ms === Infinity ? Infinity : now() + ms;
}

/** Checks `options` of an async method; throws the signal's reason when it is already aborted. */
export function startWait(options: WaitOptions | undefined, what: string): number {
  const deadline = deadlineFor(options?.timeoutMs, what);
  checkSignal(options?.signal, what);
  options?.signal?.throwIfAborted();
  return deadline;
}

/** Drives a wait loop by blocking this thread. */
export function runSync<T>(steps: Steps<T>, deadline: number): T {
  let r = steps.next();
  while (!r.done) {
    const [cell, index, expected, sliceMs] = r.value;
    const ms = Math.min(sliceMs, deadline - now());
    const result: WaitResult = ms <= 0 ? 'timed-out' : waitSync(cell, index, expected, ms === Infinity ? undefined : ms);
    r = steps.next(result);
  }
  return r.value;
}

/** Drives a wait loop with `Atomics.waitAsync`; an abort is thrown into the loop at its park. */
export async function runAsync<T>(steps: Steps<T>, deadline: number, signal: AbortSignal | undefined): Promise<T> {
  let r = steps.next();
  if (r.done) return r.value;
  let pending: Park | undefined;
  // A pending waitAsync cannot be cancelled. Waking every waiter of the word ends ours (the
  // others re-check and park again), so an aborted wait leaves no ghost behind to swallow a
  // later notify meant for a live waiter, and no keep-alive holding the process open.
  const onAbort = (): void => {
    if (pending) notify(pending[0], pending[1]);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    while (!r.done) {
      const [cell, index, expected, sliceMs] = r.value;
      const ms = Math.min(sliceMs, deadline - now());
      let result: WaitResult = 'timed-out';
      if (ms > 0) {
        pending = r.value;
        result = await waitAsync(cell, index, expected, ms === Infinity ? undefined : ms);
        pending = undefined;
      }
      r = signal?.aborted ? steps.throw(signal.reason) : steps.next(result);
    }
    return r.value;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The `…Sync` methods block the calling thread. On the main thread of the program that would
 * freeze the event loop, and with it any async task that holds what is waited for (possibly
 * forever). So there a `…Sync` wait is refused, always: whether or not it would have to wait,
 * so that a program does not pass while a lock happens to be free and fail under load. The one
 * exception is `timeoutMs: 0`, a plain try that never waits. The main thread of a threadkit
 * `Process` (or process pool worker) may block: it runs the target, as a Python child does.
 */
export function checkMayBlock(what: string, instead: string, timeoutMs: number | undefined): void {
  if (timeoutMs === 0 || !isMainThread || inThreadkitChild()) return;
  throw new InvalidStateError(
    `${what} would block the main thread's event loop, so it is refused there (whether or not it would have to wait); ` +
      `use ${instead} on the main thread, or pass { timeoutMs: 0 } to try without waiting`,
  );
}

/** For `…Sync` waits that always may wait (they re-acquire a lock): refused on the program's main thread even with `timeoutMs: 0`. */
export function refuseOnMain(what: string, instead: string): void {
  checkMayBlock(what, instead, undefined);
}
