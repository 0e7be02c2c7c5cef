/**
 * `BoundedSemaphore`: a `Semaphore` whose value may not go above where it started.
 */
import { registerShareable } from '../internal/shareable.ts';
import { Semaphore, type SemaphoreOptions, type SemaphoreState } from './semaphore.ts';

/**
 * A semaphore that catches releases without matching acquires (Python's
 * `threading.BoundedSemaphore`): `release(n)` throws `SemaphoreOverflowError`, and adds nothing,
 * when the value would exceed the initial value.
 */
export class BoundedSemaphore extends Semaphore {
  /**
   * @param value the initial value and upper bound, an integer >= 0 (default 1); ignored when
   *   attaching to `options.buffer`.
   */
  constructor(value = 1, options?: SemaphoreOptions) {
    super(value, options);
  }

  protected override bounded(): boolean {
    return true;
  }
}

registerShareable('BoundedSemaphore', (state: SemaphoreState) => new BoundedSemaphore(0, state));
