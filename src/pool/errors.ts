/**
 * Errors of the pool layer. They extend `ThreadkitError` like every other threadkit error.
 * (They belong in src/errors.ts, which another part of the project owns; move them there.)
 */
import { ThreadkitError } from '../errors.ts';

/**
 * A future was cancelled before it finished (Python's `concurrent.futures.CancelledError`):
 * `cancel()` on a queued task, `abort()` on a running one, `shutdown({ cancelFutures: true })`,
 * or `terminate()` of its pool.
 */
export class CancelledError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_CANCELLED', message, options);
  }
}
