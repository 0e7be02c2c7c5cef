/**
 * What makes `Value` and `SharedArray` "synchronized" (Python's `multiprocessing.sharedctypes`
 * `synchronized` wrappers): the `lock` option, the lock it gives, and the error of `getLock()`
 * without one. The memory itself is `RawValue`'s and `RawArray`'s.
 */
import { InvalidArgumentError, InvalidStateError } from '../errors.ts';
import type { MemoryOptions } from '../internal/cells.ts';
import { Lock } from '../sync/lock.ts';
import { RLock } from '../sync/rlock.ts';

export interface SynchronizedOptions extends MemoryOptions {
  /**
   * `true` (default): a new `RLock` guards the value; a `Lock` or `RLock`: that one does;
   * `false`: no lock (then `getLock()` throws; prefer `RawValue`/`RawArray`).
   */
  lock?: boolean | Lock | RLock;
}

/** The lock the `lock` option asks for: a new `RLock` by default, the one given, or none. */
export function lockFor(options: SynchronizedOptions | undefined, what: string): Lock | RLock | undefined {
  const option = options?.lock;
  // In the memory the value lives in: a process-shared value with a thread-only lock could not cross to a Process.
  const memory = options?.memory ?? (options?.buffer !== undefined && !(options.buffer instanceof SharedArrayBuffer) ? 'process' : undefined);
  if (option === undefined || option === true) return new RLock(memory === undefined ? undefined : { memory });
  if (option === false) return undefined;
  if (option instanceof Lock || option instanceof RLock) return option;
  throw new InvalidArgumentError(`${what}: expected \`lock\` to be true, false, a Lock or an RLock, got \`${String(option)}\``);
}

/** `getLock()` of a `Value` or `SharedArray` made with `lock: false`. */
export function noLockError(what: string): InvalidStateError {
  return new InvalidStateError(`${what}.getLock(): created with \`lock: false\`, so there is no lock to return`);
}
