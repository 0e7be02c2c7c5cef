/**
 * `Queue`: Python's `queue.Queue` / `multiprocessing.Queue` for async tasks and `Thread`s,
 * over a byte ring in shared memory (see ring.ts).
 */
import { ClosedError, InvalidArgumentError, NotSupportedError, QueueEmptyError, QueueFullError } from '../errors.ts';
import { available as processMemoryAvailable } from '../internal/shm.ts';
import type { MemoryKind } from '../internal/cells.ts';
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import type { SyncWaitOptions, WaitOptions } from '../internal/park.ts';
import { Ring, WRITER_CLOSED, type PushResult, type RingState } from './ring.ts';
import { capacityOption, popAsync, popNow, popSync, pushAsync, pushNow, pushSync, type Popped } from './transfer.ts';
import { TRACING, enterTrace, enterTraceSync, traceWait, traceWaitSync } from '../trace/hooks.ts';

export interface QueueOptions {
  /**
   * Most items the queue holds at once; `put` waits while it holds that many (Python's
   * `maxsize`). `0` (the default) or less: no limit on the count, only `capacityBytes`.
   */
  maxsize?: number;
  /**
   * Bytes of shared memory for the items, serialized (default 4 MiB, at most 1 GiB; rounded up
   * to a multiple of 8). It bounds every queue, "unbounded" ones included: `put` waits while
   * the next item does not fit. One item takes its serialized size plus 4 to 8 bytes; an item
   * larger than the whole ring is refused with `InvalidArgumentError`.
   */
  capacityBytes?: number;
  /** Names the queue in error messages (crosses threads with the queue). */
  name?: string;
  /**
   * Where the ring lives: `'process'` (shared with child processes too; needs the native addon)
   * or `'thread'` (a `SharedArrayBuffer`); default as for the sync primitives (see `MemoryKind`).
   */
  memory?: MemoryKind;
}

/** What crosses to another thread to rebuild a queue over the same memory. */
export interface QueueState {
  ring: RingState;
  name: string | undefined;
}

/** Internal: builds a queue over an existing ring (the shareable reviver). */
export const kAttach: unique symbol = Symbol('threadkit.queue.attach');
export type AttachOptions = QueueOptions & { [kAttach]?: QueueState };

/**
 * A FIFO queue of items shared by async tasks and `Thread`s (Python's `queue.Queue` and
 * `multiprocessing.Queue`). Pass it to a `Thread` in its `args`: the copy the thread gets uses
 * the same shared memory, so both sides see one queue.
 *
 * ```ts
 * const q = new Queue<Job>({ maxsize: 100 });
 * new Thread({ target: worker, args: [q] }).start();
 * await q.put(job);          // waits while 100 items are queued (backpressure)
 * q.close();                 // the worker's `for await (const job of q)` ends once drained
 * ```
 *
 * **Items** cross by the structured-clone algorithm (`v8.serialize`): `Map`, `Set`, `Date`,
 * typed arrays, errors, nested objects, cycles; class instances (their class would be lost),
 * functions and symbols are refused with `NotCloneableError`. Shared primitives (`Lock`, a
 * `Queue`…) and `SharedArrayBuffer`s cannot go *through* a queue (refused with
 * `NotCloneableError` naming where they sit); pass them in a Thread's `args`.
 *
 * **Order.** Items come out in the order they went in, across all producers (FIFO). Waiting
 * putters and getters are not served in arrival order (as in Python): a put goes in as soon as
 * its item fits, so under a steady stream of small items into a nearly full queue, an item close
 * to `capacityBytes` may wait long. Give such queues room to spare.
 *
 * **Memory.** Items live serialized in one ring of `capacityBytes` allocated up front; puts wait
 * for room rather than grow it.
 *
 * **Processes.** Where threadkit's native addon is built, the ring lives in memory mapped from
 * /dev/shm, so a queue passed to a `Process` is the same queue there. Without the addon it lives
 * in a `SharedArrayBuffer`, which cannot cross `fork()`: the argument codec then refuses it with
 * an error that says so.
 */
export class Queue<T = unknown> implements AsyncIterable<T> {
  readonly #ring: Ring;
  readonly #name: string | undefined;
  readonly #labels = new Map<string, string>();

  constructor(options?: QueueOptions) {
    const state = (options as AttachOptions | undefined)?.[kAttach];
    if (state) {
      this.#ring = new Ring(state.ring);
      this.#name = state.name;
      return;
    }
    const what = `new ${new.target.name}()`;
    const maxsize = options?.maxsize ?? 0;
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize) || maxsize > 0x7fffffff) {
      throw new InvalidArgumentError(`${what}: expected \`maxsize\` to be an integer (0 or less: no limit), got \`${String(maxsize)}\` (${typeof maxsize})`);
    }
    const memory = options?.memory;
    if (memory !== undefined && memory !== 'thread' && memory !== 'process') {
      throw new InvalidArgumentError(`${what}: expected \`memory\` to be 'thread' or 'process', got \`${String(memory)}\``);
    }
    if (memory === 'process' && !processMemoryAvailable) {
      throw new NotSupportedError(
        `${what}: memory shared between processes needs threadkit's native addon, which was not built here; use { memory: 'thread' }`,
      );
    }
    this.#ring = Ring.create(capacityOption(options?.capacityBytes, what), Math.max(0, maxsize), memory);
    this.#name = options?.name;
  }

  /** The most items the queue holds; 0 when only `capacityBytes` bounds it. */
  get maxsize(): number {
    return this.#ring.maxsize;
  }

  /** Bytes of shared memory the items may take, serialized. */
  get capacityBytes(): number {
    return this.#ring.capacity;
  }

  /** Whether `close()` was called (in any thread). */
  get closed(): boolean {
    return this.#ring.flags !== 0;
  }

  /**
   * Puts `item` at the end of the queue, waiting while the queue is full: `maxsize` items, or
   * not enough free bytes for this one.
   *
   * ## Cancellation and timeout
   * - `timeoutMs`: `undefined` or `-1` waits forever; `0` tries once; when it runs out the
   *   promise rejects with `QueueFullError` and the item is not queued.
   * - `signal`: already aborted, or aborted while waiting, rejects with `signal.reason`; the
   *   item is then not queued. Once the promise resolves, the item is in the queue.
   * - Rejects with `ClosedError` when the queue is closed, or is closed while this waits;
   *   with `NotCloneableError` when the item cannot be copied; with `InvalidArgumentError`
   *   when it is larger than `capacityBytes`.
   */
  async put(item: T, options?: WaitOptions): Promise<void> {
    if (TRACING && enterTrace(this)) return traceWait(this, this.what('put'), this.put(item, options));
    const r = pushAsync(this.#ring, item, options, this.what('put'));
    this.#pushed(typeof r === 'string' ? r : await r, 'put', options?.timeoutMs);
  }

  /**
   * Puts `item` if that needs no wait (Python's `put_nowait`); throws `QueueFullError` when the
   * queue is full, `ClosedError` when it is closed.
   */
  putNowait(item: T): void {
    this.#pushed(pushNow(this.#ring, item, this.what('putNowait')), 'putNowait', 0);
  }

  /**
   * Puts `item`, blocking the calling thread while the queue is full. Meant for worker threads
   * (inside a `Thread`, it blocks every Thread sharing that worker).
   *
   * ## Cancellation and timeout
   * - `timeoutMs` as for {@link Queue.put}; throws `QueueFullError` when it runs out.
   * - On the main thread of the program it is refused with `InvalidStateError` whether or not
   *   there is room (waiting would freeze the event loop, and with it any task that would make
   *   room), except with `timeoutMs: 0`: a plain try (`QueueFullError` when full).
   */
  putSync(item: T, options?: SyncWaitOptions): void {
    if (TRACING && enterTraceSync(this)) return traceWaitSync(this, this.what('putSync'), this.putSync(item, options));
    const what = this.what('putSync');
    const r = pushSync(this.#ring, item, options, what, 'await queue.put()');
    this.#pushed(r, 'putSync', options?.timeoutMs);
  }

  /**
   * Removes and returns the oldest item, waiting while the queue is empty.
   *
   * ## Cancellation and timeout
   * - `timeoutMs`: `undefined` or `-1` waits forever; `0` tries once; when it runs out the
   *   promise rejects with `QueueEmptyError`.
   * - `signal`: already aborted, or aborted while waiting, rejects with `signal.reason`; no
   *   item is taken.
   * - After `close()` it still returns the items left; once they are gone it rejects with
   *   `ClosedError` instead of waiting (waiting getters are woken by `close()`).
   */
  async get(options?: WaitOptions): Promise<T> {
    if (TRACING && enterTrace(this)) return traceWait(this, this.what('get'), this.get(options));
    const r = popAsync(this.#ring, options, this.what('get'));
    return this.#popped(r instanceof Promise ? await r : r, 'get', options?.timeoutMs);
  }

  /** Returns the oldest item if there is one (Python's `get_nowait`); throws `QueueEmptyError`, or `ClosedError` once closed and drained. */
  getNowait(): T {
    return this.#popped(popNow(this.#ring), 'getNowait', 0);
  }

  /**
   * Removes and returns the oldest item, blocking the calling thread while the queue is empty
   * (worker threads).
   *
   * ## Cancellation and timeout
   * - `timeoutMs` as for {@link Queue.get}; throws `QueueEmptyError` when it runs out, and
   *   `ClosedError` once the queue is closed and drained.
   * - On the main thread of the program it is refused with `InvalidStateError` whether or not
   *   an item is there, except with `timeoutMs: 0`: a plain try (`QueueEmptyError` when empty).
   */
  getSync(options?: SyncWaitOptions): T {
    if (TRACING && enterTraceSync(this)) return traceWaitSync(this, this.what('getSync'), this.getSync(options));
    const what = this.what('getSync');
    const r = popSync(this.#ring, options, what, 'await queue.get()');
    return this.#popped(r, 'getSync', options?.timeoutMs);
  }

  /** How many items are queued (a snapshot: other threads may change it at once). */
  qsize(): number {
    return this.#ring.count;
  }

  /** Whether no item is queued (a snapshot). */
  empty(): boolean {
    return this.#ring.count === 0;
  }

  /** Whether `maxsize` items are queued (a snapshot; always false without `maxsize`, as in Python). */
  full(): boolean {
    const max = this.#ring.maxsize;
    return max > 0 && this.#ring.count >= max;
  }

  /**
   * Closes the queue for every thread (Python 3.13's `shutdown()`): later puts throw
   * `ClosedError`, and so do puts waiting now; gets return the items left, then throw
   * `ClosedError` instead of waiting. Closing twice does nothing.
   */
  close(): void {
    this.#ring.close(WRITER_CLOSED);
  }

  /**
   * Yields items until the queue is closed and drained: `for await (const item of q)`.
   * Leaving the loop early takes no item beyond the ones yielded.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      let item: T;
      try {
        item = await this.get();
      } catch (err) {
        if (err instanceof ClosedError) return;
        throw err;
      }
      yield item;
    }
  }

  [kShare](): SharedState {
    return { type: this.shareType(), state: { ring: this.#ring.state, name: this.#name } satisfies QueueState };
  }

  /** The registered type name the queue crosses threads under. */
  protected shareType(): string {
    return 'Queue';
  }

  /** The ring, for subclasses (`JoinableQueue`). */
  protected get ring(): Ring {
    return this.#ring;
  }

  /** `Queue "jobs".put()`, for error messages. */
  protected what(method: string): string {
    let label = this.#labels.get(method);
    if (label === undefined) {
      const kind = this.constructor.name;
      label = this.#name === undefined ? `${kind}.${method}()` : `${kind} "${this.#name}".${method}()`;
      this.#labels.set(method, label);
    }
    return label;
  }

  #pushed(r: PushResult, method: string, timeoutMs: number | undefined): void {
    if (r === 'ok') return;
    const what = this.what(method);
    if (r === 'closed') throw new ClosedError(`${what}: the queue is closed`);
    throw new QueueFullError(timeoutMs ? `${what}: the queue was still full after ${timeoutMs} ms` : `${what}: the queue is full`);
  }

  #popped(r: Popped, method: string, timeoutMs: number | undefined): T {
    if (typeof r === 'object') return r.item as T;
    const what = this.what(method);
    if (r === 'closed') throw new ClosedError(`${what}: the queue is closed and drained`);
    throw new QueueEmptyError(timeoutMs ? `${what}: the queue was still empty after ${timeoutMs} ms` : `${what}: the queue is empty`);
  }
}

registerShareable('Queue', (state: QueueState) => new Queue({ [kAttach]: state } as AttachOptions));
