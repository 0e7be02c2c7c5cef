/**
 * `JoinableQueue`: a `Queue` that counts unfinished items (Python's `queue.Queue.task_done`/
 * `join`, `multiprocessing.JoinableQueue`).
 */
import { InvalidStateError, TimeoutError } from '../errors.ts';
import { registerShareable } from '../internal/shareable.ts';
import { checkMayBlock, deadlineFor, runAsync, runSync, startWait, type SyncWaitOptions, type WaitOptions } from '../internal/park.ts';
import { kAttach, Queue, type AttachOptions, type QueueState } from './queue.ts';

/**
 * A `Queue` whose consumers report each item done with `taskDone()`, so that a producer can
 * `join()` until every item put so far was processed.
 *
 * The count of unfinished items lives in the queue's shared memory: a `taskDone()` in any
 * thread counts, and `join()` works in any thread.
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /**
   * Marks one item taken from the queue as processed. Throws `InvalidStateError` when called
   * more times than items were put (Python: `ValueError`).
   */
  taskDone(): void {
    if (!this.ring.taskDone()) throw new InvalidStateError(`${this.what('taskDone')}: called more times than there were items in the queue`);
  }

  /** Items put and not yet marked done with `taskDone()` (a snapshot). */
  get unfinishedTasks(): number {
    return this.ring.unfinished;
  }

  /**
   * Resolves once every item put so far has been marked done with `taskDone()`; at once when
   * none is unfinished.
   *
   * ## Cancellation and timeout
   * - `timeoutMs`: `undefined` or `-1` waits forever; when it runs out the promise rejects
   *   with `TimeoutError`.
   * - `signal`: already aborted, or aborted while waiting, rejects with `signal.reason`.
   */
  async join(options?: WaitOptions): Promise<void> {
    const what = this.what('join');
    const deadline = startWait(options, what);
    if (!(await runAsync(this.ring.join(deadline), deadline, options?.signal))) {
      throw new TimeoutError(`${what}: ${this.ring.unfinished} item(s) still unfinished after ${options?.timeoutMs} ms`);
    }
  }

  /**
   * `join()` by blocking the calling thread (worker threads).
   *
   * ## Cancellation and timeout
   * `timeoutMs` as for {@link JoinableQueue.join}; throws `TimeoutError` when it runs out. On the
   * main thread of the program it is refused with `InvalidStateError` whether or not anything
   * is unfinished, except with `timeoutMs: 0` (a plain check: `TimeoutError` when unfinished).
   */
  joinSync(options?: SyncWaitOptions): void {
    const what = this.what('joinSync');
    const deadline = deadlineFor(options?.timeoutMs, what);
    checkMayBlock(what, 'await queue.join()', options?.timeoutMs);
    if (this.ring.unfinished === 0) return;
    if (!runSync(this.ring.join(deadline), deadline)) {
      throw new TimeoutError(`${what}: ${this.ring.unfinished} item(s) still unfinished after ${options?.timeoutMs} ms`);
    }
  }

  protected override shareType(): string {
    return 'JoinableQueue';
  }
}

registerShareable('JoinableQueue', (state: QueueState) => new JoinableQueue({ [kAttach]: state } as AttachOptions));
