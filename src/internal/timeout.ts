/**
 * The one rule for a `timeoutMs`, wherever threadkit waits (`Lock.acquire`, `Queue.get`,
 * `Connection.poll`, `Thread.join`…), and the one function that checks it:
 *
 * | `timeoutMs`                               | the wait                                        |
 * |-------------------------------------------|-------------------------------------------------|
 * | `undefined` (left out), `-1` or `Infinity` | waits forever (`-1` is Python's `timeout=-1`)   |
 * | `0`                                       | does not wait: tries once and answers at once   |
 * | a number above 0 (fractions allowed)      | waits at most that many milliseconds            |
 * | anything else: another negative number, `NaN`, `null`, a string… | throws `InvalidArgumentError` |
 *
 * Also here, the check of a wait's other option, its `signal` (`checkSignal`).
 *
 * The error names the call, the value and its type, and the fix:
 * ``Lock.acquire(): expected `timeoutMs` to be a number of milliseconds from 0 up (0: do not wait), or -1 or left out to wait forever, got `-5` (number)``.
 */
import { InvalidArgumentError } from '../errors.ts';

/** The `timeoutMs` that waits forever, as Python's `timeout=-1` (leaving it out does the same). */
export const FOREVER = -1;

/**
 * Checks `timeoutMs` against the rule above and returns how many milliseconds the wait may
 * last: `Infinity` for "forever". `what` names the call in the error (`'Lock.acquire()'`).
 */
export function checkTimeout(timeoutMs: unknown, what: string): number {
  if (timeoutMs === undefined || timeoutMs === FOREVER) return Infinity;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) {
    throw new InvalidArgumentError(
      `${what}: expected \`timeoutMs\` to be a number of milliseconds from 0 up (0: do not wait), or -1 or left out to wait forever, got \`${String(timeoutMs)}\` (${typeof timeoutMs})`,
    );
  }
  return timeoutMs;
}

/** Refuses a `signal` that is not an `AbortSignal` (left out or `undefined` is fine). `what` names the call. */
export function checkSignal(signal: unknown, what: string): void {
  if (signal === undefined || signal instanceof AbortSignal) return;
  const got =
    signal === null
      ? 'null'
      : typeof signal === 'object'
        ? `an object (${signal.constructor?.name ?? 'no class'})`
        : `\`${String(signal)}\` (${typeof signal})`;
  throw new InvalidArgumentError(
    `${what}: expected \`signal\` to be an AbortSignal (from an AbortController, or AbortSignal.timeout()), or left out; got ${got}`,
  );
}
