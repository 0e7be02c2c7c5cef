/**
 * The errors only `threadkit/redis` throws. Each is a `ThreadkitError` with a stable `code`, like
 * the core's; the errors shared with the core (`LockOwnerDiedError`, `TimeoutError`,
 * `CancelledError`, …) come from `threadkit` itself.
 */
import { ThreadkitError } from '../errors.ts';

/**
 * A fenced write (`RedisLock.setIfFence`) was refused: the fence it carried is no longer the lock's
 * newest. Another holder acquired the lock after this one's lease ran out; writing would undo its work.
 */
export class StaleFenceError extends ThreadkitError {
  /** The fence the write carried. */
  readonly fence: number;
  /** The lock's newest fence when the write was refused. */
  readonly currentFence: number;

  constructor(fence: number, currentFence: number, message: string, options?: ErrorOptions) {
    super('TK_STALE_FENCE', message, options);
    this.fence = fence;
    this.currentFence = currentFence;
  }
}

/** A `RedisLock`'s lease was lost while held: its renewal failed, or its own clock says it ran out. */
export class LeaseLostError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_LEASE_LOST', message, options);
  }
}

/**
 * A cluster worker refused a task: the module that defines its target is not, byte for byte, the
 * module the submitter has (different versions of the code on two machines).
 */
export class ModuleMismatchError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_MODULE_MISMATCH', message, options);
  }
}

/** Redis could not be reached, or answered something `threadkit/redis` cannot use (too old a version). */
export class RedisUnavailableError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_REDIS_UNAVAILABLE', message, options);
  }
}

/** The errors above by name, so that one thrown on a worker is rebuilt as its own class on the submitter. */
export const REDIS_ERRORS: Record<string, Function> = { StaleFenceError, LeaseLostError, ModuleMismatchError, RedisUnavailableError };
