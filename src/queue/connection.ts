/**
 * `Connection`: one end of a `Pipe` (Python's `multiprocessing.connection.Connection`).
 */
import { ClosedError, InvalidStateError, TimeoutError } from '../errors.ts';
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import { deadlineFor, runAsync, type SyncWaitOptions, type WaitOptions } from '../internal/park.ts';
import { READER_CLOSED, Ring, WRITER_CLOSED, type PushResult, type RingState } from './ring.ts';
import { popAsync, popSync, pushAsync, pushSync, type Popped } from './transfer.ts';

/** What crosses to another thread to rebuild an end over the same memory. */
export interface ConnectionState {
  /** The ring this end reads from; absent on a send-only end. */
  inbound?: RingState;
  /** The ring this end writes to; absent on a receive-only end. */
  outbound?: RingState;
}

/**
 * One end of a {@link Pipe}. Objects sent at one end are received, in order, at the other.
 * Pass an end to a `Thread` in its `args`; the copy uses the same shared memory.
 *
 * Objects cross as queue items do: by the structured-clone algorithm (see `Queue`). Sends wait
 * for room when the other end does not keep up (`capacityBytes` per direction).
 *
 * **End of file.** `close()` on one end makes `recv()` at the other end return what was
 * already sent and then throw `ClosedError` (Python's `EOFError`) instead of waiting, and makes
 * sends from the other end throw `ClosedError` (Python's `BrokenPipeError`).
 *
 * **Processes.** An end can be passed to a `Process` where queues can (see `Queue`).
 */
export class Connection<T = unknown> implements AsyncIterable<T> {
  readonly #in: Ring | undefined;
  readonly #out: Ring | undefined;

  /** Made by {@link Pipe}; `state` describes rings another end laid out. */
  constructor(state: ConnectionState) {
    this.#in = state.inbound && new Ring(state.inbound);
    this.#out = state.outbound && new Ring(state.outbound);
  }

  /** Whether this end can receive (false for the sending end of a one-way pipe). */
  get readable(): boolean {
    return this.#in !== undefined;
  }

  /** Whether this end can send (false for the receiving end of a one-way pipe). */
  get writable(): boolean {
    return this.#out !== undefined;
  }

  /** Whether this end was closed (in any thread). A closed peer does not close this end. */
  get closed(): boolean {
    return this.#out ? (this.#out.flags & WRITER_CLOSED) !== 0 : (this.#in!.flags & READER_CLOSED) !== 0;
  }

  /**
   * Sends `obj` to the other end; resolves once it is in the pipe, waiting while the pipe is
   * full (the other end is not receiving).
   *
   * ## Cancellation and timeout
   * - `timeoutMs`: `undefined` or `-1` waits forever; `0` tries once; when it runs out the
   *   promise rejects with `TimeoutError` and nothing was sent.
   * - `signal`: already aborted, or aborted while waiting, rejects with `signal.reason`;
   *   nothing was sent.
   * - Rejects with `ClosedError` when either end is closed (also while waiting),
   *   `InvalidStateError` on a receive-only end, `NotCloneableError` / `InvalidArgumentError`
   *   for an object that cannot be copied or is larger than `capacityBytes`.
   */
  async send(obj: T, options?: WaitOptions): Promise<void> {
    const what = 'Connection.send()';
    const r = pushAsync(this.#outbound(what), obj, options, what);
    this.#sent(typeof r === 'string' ? r : await r, what, options?.timeoutMs);
  }

  /**
   * Sends `obj` by blocking the calling thread while the pipe is full (worker threads).
   *
   * ## Cancellation and timeout
   * `timeoutMs` as for {@link Connection.send}; throws `TimeoutError` when it runs out. On the
   * main thread of the program it is refused with `InvalidStateError` whether or not there is
   * room, except with `timeoutMs: 0` (a plain try: `TimeoutError` when full).
   */
  sendSync(obj: T, options?: SyncWaitOptions): void {
    const what = 'Connection.sendSync()';
    const r = pushSync(this.#outbound(what), obj, options, what, 'await conn.send()');
    this.#sent(r, what, options?.timeoutMs);
  }

  /**
   * Receives the next object sent from the other end, waiting until there is one.
   *
   * ## Cancellation and timeout
   * - `timeoutMs`: `undefined` or `-1` waits forever; `0` tries once; when it runs out the
   *   promise rejects with `TimeoutError`.
   * - `signal`: already aborted, or aborted while waiting, rejects with `signal.reason`; no
   *   object is taken.
   * - Rejects with `ClosedError` once the other end is closed and everything it sent was
   *   received (Python's `EOFError`), or when this end is closed.
   */
  async recv(options?: WaitOptions): Promise<T> {
    const what = 'Connection.recv()';
    const ring = this.#inbound(what);
    const r = popAsync(ring, options, what);
    return this.#received(r instanceof Promise ? await r : r, ring, what, options?.timeoutMs);
  }

  /**
   * Receives by blocking the calling thread until an object arrives (worker threads).
   *
   * ## Cancellation and timeout
   * `timeoutMs` as for {@link Connection.recv}; throws `TimeoutError` when it runs out. On the
   * main thread of the program it is refused with `InvalidStateError` whether or not an object
   * is there, except with `timeoutMs: 0` (a plain try: `TimeoutError` when none).
   */
  recvSync(options?: SyncWaitOptions): T {
    const what = 'Connection.recvSync()';
    const ring = this.#inbound(what);
    const r = popSync(ring, options, what, 'await conn.recv()');
    return this.#received(r, ring, what, options?.timeoutMs);
  }

  /**
   * Whether `recv()` would return without waiting: an object is there, or the other end closed
   * (then `recv()` throws `ClosedError`). Waits up to `timeoutMs` for that (default 0: answer
   * now; `-1`: wait forever). Throws `ClosedError` when this end is closed.
   *
   * ## Cancellation and timeout
   * Resolves `false` when `timeoutMs` runs out; it takes no object either way.
   */
  async poll(timeoutMs = 0): Promise<boolean> {
    const what = 'Connection.poll()';
    const ring = this.#inbound(what);
    const deadline = deadlineFor(timeoutMs, what);
    if (ring.flags & READER_CLOSED) throw new ClosedError(`${what}: this end is closed`);
    return runAsync(ring.readable(deadline), deadline, undefined);
  }

  /**
   * Closes this end, for every thread that holds it: the other end receives what was sent,
   * then `ClosedError`; its sends throw `ClosedError`. Objects sent to this end and not yet
   * received are dropped. Closing twice does nothing.
   */
  close(): void {
    this.#out?.close(WRITER_CLOSED);
    this.#in?.close(READER_CLOSED);
  }

  /** Yields received objects until the other end closes and everything it sent was received. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      let obj: T;
      try {
        obj = await this.recv();
      } catch (err) {
        if (err instanceof ClosedError) return;
        throw err;
      }
      yield obj;
    }
  }

  [kShare](): SharedState {
    return { type: 'Connection', state: { inbound: this.#in?.state, outbound: this.#out?.state } satisfies ConnectionState };
  }

  #inbound(what: string): Ring {
    if (!this.#in) throw new InvalidStateError(`${what}: this end of a one-way pipe can only send`);
    return this.#in;
  }

  #outbound(what: string): Ring {
    if (!this.#out) throw new InvalidStateError(`${what}: this end of a one-way pipe can only receive`);
    return this.#out;
  }

  #sent(r: PushResult, what: string, timeoutMs: number | undefined): void {
    if (r === 'ok') return;
    if (r === 'closed') {
      const mine = (this.#out!.flags & WRITER_CLOSED) !== 0;
      throw new ClosedError(mine ? `${what}: this end is closed` : `${what}: the other end is closed`);
    }
    throw new TimeoutError(timeoutMs ? `${what}: the pipe was still full after ${timeoutMs} ms` : `${what}: the pipe is full`);
  }

  #received(r: Popped, ring: Ring, what: string, timeoutMs: number | undefined): T {
    if (typeof r === 'object') return r.item as T;
    if (r === 'closed') {
      const mine = (ring.flags & READER_CLOSED) !== 0;
      throw new ClosedError(mine ? `${what}: this end is closed` : `${what}: the other end is closed and everything it sent was received`);
    }
    throw new TimeoutError(timeoutMs ? `${what}: nothing arrived within ${timeoutMs} ms` : `${what}: nothing to receive`);
  }
}

registerShareable('Connection', (state: ConnectionState) => new Connection(state));
