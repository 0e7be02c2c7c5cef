/** Timeout tests assert how long the wait really took, as CPython's lock_tests.py does. */
import assert from 'node:assert/strict';

/**
 * The most a timed-out wait of `timeoutMs` may take: 10 times it, as CPython's lock_tests.py
 * allows, but never less than a second past it. A short wait in a worker on a loaded 2-core
 * machine (two test files at once) was seen ending 225 ms after a 20 ms timeout; a wait that
 * ignored its timeout would run to the test's own time limit instead.
 */
export const lateBy = (timeoutMs: number): number => Math.max(10 * timeoutMs, timeoutMs + 1000);

/** A timed-out wait took at least `timeoutMs`, and ended at its timeout, not long after ({@link lateBy}). */
export function assertTimedOut(elapsedMs: number, timeoutMs: number, what = 'the wait'): void {
  // performance.now() and the timers round differently: 1 ms of slack below.
  assert.ok(elapsedMs >= timeoutMs - 1, `${what} took ${elapsedMs.toFixed(1)} ms, at least its ${timeoutMs} ms timeout`);
  assert.ok(elapsedMs < lateBy(timeoutMs), `${what} took ${elapsedMs.toFixed(1)} ms, less than ${lateBy(timeoutMs)} ms for its ${timeoutMs} ms timeout`);
}

/** Settles `promise` and says how long it took: `[value or error, ms, ok]`. */
export async function timed<T>(promise: Promise<T> | (() => Promise<T>)): Promise<{ ok: boolean; value: unknown; ms: number }> {
  const start = performance.now();
  try {
    const value = await (typeof promise === 'function' ? promise() : promise);
    return { ok: true, value, ms: performance.now() - start };
  } catch (err) {
    return { ok: false, value: err, ms: performance.now() - start };
  }
}

/** Each of the first `n` cells (microseconds, written by a body) is a timed-out wait of `timeoutMs`. */
export function assertCellsTimedOut(t: Int32Array, n: number, timeoutMs: number): void {
  for (let i = 0; i < n; i++) assertTimedOut(Atomics.load(t, i) / 1000, timeoutMs, `wait ${i}`);
}

/** `fn()` rejects with `error` (a class or a pattern) as a timed-out wait of `timeoutMs`. */
export async function rejectsAfter(fn: () => Promise<unknown>, error: (new (...a: any[]) => Error) | RegExp, timeoutMs: number): Promise<void> {
  const r = await timed(fn);
  assert.equal(r.ok, false, 'it rejected');
  if (error instanceof RegExp) assert.match(String(r.value), error);
  else assert.ok(r.value instanceof error, `rejected with ${error.name}, got ${String(r.value)}`);
  assertTimedOut(r.ms, timeoutMs);
}

/** `fn()` resolves to `expected` as a timed-out wait of `timeoutMs`. */
export async function resolvesAfter(fn: () => Promise<unknown>, expected: unknown, timeoutMs: number): Promise<void> {
  const r = await timed(fn);
  assert.deepEqual([r.ok, r.value], [true, expected]);
  assertTimedOut(r.ms, timeoutMs);
}
