/**
 * `SimpleQueue`: Python's `multiprocessing.SimpleQueue`, a `Queue` without a bound on the
 * number of items.
 */
import { InvalidArgumentError } from '../errors.ts';
import { registerShareable } from '../internal/shareable.ts';
import { kAttach, Queue, type AttachOptions, type QueueOptions, type QueueState } from './queue.ts';

/** A `SimpleQueue` takes the options of a `Queue` but `maxsize`: it has none. */
export type SimpleQueueOptions = Omit<QueueOptions, 'maxsize'>;

/**
 * Python's `multiprocessing.SimpleQueue`: `put`, `get`, `empty()` and `close()`, across
 * async tasks, `Thread`s and `Process`es. It is a `Queue` with no `maxsize` (only its
 * `capacityBytes` of shared memory bounds it), so the rest of `Queue`'s methods work too.
 * It crosses to a thread or process as a `SimpleQueue`.
 */
export class SimpleQueue<T = unknown> extends Queue<T> {
  constructor(options?: SimpleQueueOptions) {
    if (options !== undefined && !(kAttach in options) && (options as QueueOptions).maxsize !== undefined) {
      throw new InvalidArgumentError('new SimpleQueue(): a SimpleQueue has no `maxsize` (as in Python); use a Queue({ maxsize }) for a bounded one');
    }
    super(options);
  }

  protected override shareType(): string {
    return 'SimpleQueue';
  }
}

registerShareable('SimpleQueue', (state: QueueState) => new SimpleQueue({ [kAttach]: state } as AttachOptions));
