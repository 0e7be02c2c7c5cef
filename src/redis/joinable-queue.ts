/**
 * `RedisJoinableQueue`: `RedisQueue` plus `taskDone()`/`join()` (Python's `JoinableQueue`), with
 * *at-least-once* delivery: an item stays pending in Redis from `get` until `taskDone()`.
 *
 * While this object holds items (got, not done) it renews them every `visibilityTimeoutMs / 3`. If
 * its process dies, hangs or loses Redis for longer than `visibilityTimeoutMs`, the items come back
 * to another `get` — so an item can be processed twice (a paused consumer may wake up and finish
 * one that was redelivered): make the work idempotent or fence it (`RedisLock.setIfFence`).
 * `taskDone()` marks the oldest item this object got and has not marked yet, as Python's usage
 * (`get` → work → `taskDone`) expects; for an item that was redelivered and done elsewhere meanwhile it
 * resolves `false` and counts nothing twice.
 */
import { InvalidStateError, TimeoutError } from '../errors.ts';
import { checkSignal, checkTimeout } from '../internal/timeout.ts';
import { RedisQueue, type QueueWaitOptions, type RedisQueueOptions } from './queue.ts';

export class RedisJoinableQueue<T = unknown> extends RedisQueue<T> {
  readonly #held: string[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: RedisQueueOptions) {
    super(options);
  }

  protected override async taken(id: string): Promise<void> {
    this.#held.push(id);
    if (!this.#timer) {
      this.#timer = setInterval(
        () => {
          if (this.#held.length === 0) return;
          this.redis.tkQueueTouch(this.stream, this.consumer, ...this.#held).catch(() => {});
        },
        Math.floor(this.visibilityTimeoutMs / 3),
      );
      this.#timer.unref();
    }
  }

  /**
   * Marks the oldest item this object got (and has not marked) as done: acknowledges and deletes it.
   * Resolves `true`, or `false` when it had come back to another consumer who finished it first.
   * Rejects with `InvalidStateError` when this object holds no item (Python: `ValueError`).
   */
  async taskDone(): Promise<boolean> {
    const id = this.#held.shift();
    if (id === undefined) throw new InvalidStateError(`RedisJoinableQueue "${this.name}": taskDone() called more times than items this object got.`);
    if (this.#held.length === 0) clearInterval(this.#timer), (this.#timer = undefined);
    return this.command('taskDone', () => this.acknowledge(id));
  }

  /** Items put and not yet marked done, by anyone (a snapshot). */
  async unfinishedTasks(): Promise<number> {
    return this.command('unfinishedTasks', async () => Math.max(0, Number(await this.redis.get(this.unfinishedKey))));
  }

  /**
   * Resolves once every item put so far (by anyone) is marked done; woken by a message, not polling.
   * - `timeoutMs`: when it runs out, rejects with `TimeoutError`.
   * - `signal`: rejects with `signal.reason`.
   */
  async join(options: QueueWaitOptions = {}): Promise<void> {
    return this.command('join', () => this.#join(options), options.signal);
  }

  async #join({ timeoutMs, signal }: QueueWaitOptions): Promise<void> {
    const wait = checkTimeout(timeoutMs, 'RedisJoinableQueue.join()');
    checkSignal(signal, 'RedisJoinableQueue.join()');
    signal?.throwIfAborted();
    const deadline = performance.now() + wait;
    const waiter = await this.wakeups.listen(this.doneChannel);
    try {
      for (;;) {
        const left = await this.unfinishedTasks();
        if (left === 0) return;
        const ms = deadline - performance.now();
        if (ms <= 0) throw new TimeoutError(`RedisJoinableQueue "${this.name}": ${left} item(s) still unfinished after ${timeoutMs} ms.`);
        await waiter.wait(ms, signal);
        this.checkOpen();
      }
    } finally {
      waiter.done();
    }
  }

  /** Stops renewing; items got and not done come back to others after `visibilityTimeoutMs`. */
  override async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await super.close();
  }
}
