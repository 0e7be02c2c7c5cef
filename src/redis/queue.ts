/**
 * `RedisQueue`: Python's `Queue` across machines, on a Redis Stream with a consumer group.
 *
 * ```ts
 * const q = new RedisQueue<{ url: string }>({ redis: 'redis://127.0.0.1:6379', name: 'jobs' });
 * await q.put({ url });                 // on one machine
 * const item = await q.get();           // on any other
 * ```
 *
 * **Why a stream.** A stream's consumer group records which consumer holds each delivered entry
 * and for how long (its pending entries list), and `XAUTOCLAIM` hands entries idle past a limit to
 * another consumer: redelivery is Redis's own mechanism. A list with `BLMOVE` would need a
 * home-made registry of consumers and their heartbeats to do the same.
 *
 * **Delivery.** `put` is exactly-once (one Lua script: check the size, `XADD`). `get` here is
 * *at-most-once to your code*: it acknowledges and deletes the entry before returning it, so an
 * item returned is gone from Redis, and lost if this process dies before using it. An entry in
 * transit when a `get` is aborted or its connection drops is not lost: it stays pending and comes
 * back to another `get` after `visibilityTimeoutMs`. For at-least-once, use `RedisJoinableQueue`.
 *
 * Items cross as arguments to a process do (see payload.ts); threadkit's shared-memory objects
 * cannot cross machines and are refused.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InvalidArgumentError, QueueEmptyError, QueueFullError } from '../errors.ts';
import { checkSignal, checkTimeout } from '../internal/timeout.ts';
import { checkConnectTimeout, checkConnection, connect, keyBase, type Connected, type RedisConnection } from './connection.ts';
import { pack, unpack } from './payload.ts';
import { GROUP, queueCommands, type QueueCommands } from './queue-scripts.ts';
import { callerUrl, projectRoot } from './target-ref.ts';
import { Wakeups } from './wakeups.ts';

export interface RedisQueueOptions {
  /** A URL (`redis://127.0.0.1:6379`), ioredis options, or an ioredis client (left open by `close()`). */
  redis: RedisConnection;
  /** The queue's name: every queue object with this name (and prefix) on the same Redis is the same queue. */
  name: string;
  /** Most items queued (not yet taken) at once; `put` waits while there are that many. `0` (default): no limit. */
  maxsize?: number;
  /** An entry delivered and not acknowledged for this long goes to another `get`. Default 30 000 ms. */
  visibilityTimeoutMs?: number;
  /** Prefix of the queue's keys. Default `'tk'`. */
  prefix?: string;
  /**
   * How long the first connection to Redis may take. Past it every call rejects with
   * `RedisUnavailableError` (a connection that was up and drops is waited for without a limit).
   * Default 10 000 ms; `Infinity` waits without end. Not applied to a client you pass.
   */
  connectTimeoutMs?: number;
}

export interface QueueWaitOptions {
  /** Left out, `-1` or `Infinity` waits as long as it takes; `0` tries once (internal/timeout.ts). */
  timeoutMs?: number;
  /** Aborts the wait: rejects with `signal.reason`. */
  signal?: AbortSignal;
}

interface Entry {
  id: string;
  text: string;
}

/** `[[stream, entries]]` in RESP2, `[stream, entries]` when ioredis speaks RESP3 (a map). */
type StreamReply = unknown[] | null;

export class RedisQueue<T = unknown> {
  readonly name: string;
  readonly maxsize: number;
  readonly visibilityTimeoutMs: number;
  /** This object's consumer name in the group: host, pid and a random part. */
  readonly consumer: string;
  protected readonly redis: Redis & QueueCommands;
  protected readonly stream: string;
  protected readonly unfinishedKey: string;
  protected readonly doneChannel: string;
  protected readonly wakeups: Wakeups;
  readonly #conn: Connected;
  readonly #putChannel: string;
  readonly #spaceChannel: string;
  readonly #callerUrl: string | undefined;
  readonly #root: string;
  #ready: Promise<void> | undefined;
  #reader: Redis | undefined;
  readonly #readerName: string;

  constructor(options: RedisQueueOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError(`new ${new.target.name}() needs options: { redis, name }.`);
    const redis = checkConnection(options.redis, new.target.name);
    const base = keyBase(options.prefix ?? 'tk', 'queue', options.name);
    const maxsize = options.maxsize ?? 0;
    if (!Number.isInteger(maxsize)) throw new InvalidArgumentError(`Expected \`maxsize\` to be an integer (0: no limit), got \`${String(maxsize)}\`.`);
    const vis = options.visibilityTimeoutMs ?? 30_000;
    if (!Number.isInteger(vis) || vis < 100)
      throw new InvalidArgumentError(`Expected \`visibilityTimeoutMs\` to be an integer from 100 up, got \`${String(vis)}\`.`);
    this.name = options.name;
    this.maxsize = Math.max(0, maxsize);
    this.visibilityTimeoutMs = vis;
    this.consumer = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#readerName = `tk-reader-${randomUUID()}`;
    this.stream = base;
    this.unfinishedKey = `${base}:unfinished`;
    this.doneChannel = `${base}:done`;
    this.#putChannel = `${base}:put`;
    this.#spaceChannel = `${base}:space`;
    this.#conn = connect(redis, `${new.target.name} "${options.name}"`, checkConnectTimeout(options.connectTimeoutMs));
    this.redis = queueCommands(this.#conn.client);
    this.wakeups = new Wakeups(() => this.#conn.duplicate());
    this.#callerUrl = callerUrl();
    this.#root = projectRoot(this.#callerUrl);
  }

  /** Creates the stream and its group once (from the first entry, so items put before are delivered). */
  protected ready(): Promise<void> {
    this.#ready ??= this.redis.xgroup('CREATE', this.stream, GROUP, '0', 'MKSTREAM').then(
      () => undefined,
      (err: Error) => {
        if (!/BUSYGROUP/.test(err.message)) {
          this.#ready = undefined;
          throw err;
        }
      },
    );
    return this.#ready;
  }

  /**
   * Puts `item` at the end of the queue, waiting while `maxsize` items are queued.
   * - `timeoutMs`: when it runs out, rejects with `QueueFullError`; the item is not queued.
   * - `signal`: rejects with `signal.reason`; the item is not queued.
   * - Rejects with `NotCloneableError` when the item cannot cross to another machine.
   * Once the promise resolves, the item is in Redis (exactly once).
   */
  async put(item: T, options: QueueWaitOptions = {}): Promise<void> {
    return this.command('put', () => this.#put(item, options), options.signal);
  }

  async #put(item: T, { timeoutMs, signal }: QueueWaitOptions): Promise<void> {
    const ms = checkTimeout(timeoutMs, 'RedisQueue.put()');
    checkSignal(signal, 'RedisQueue.put()');
    signal?.throwIfAborted();
    const text = pack(item, 'item');
    await this.ready();
    const deadline = performance.now() + ms;
    let waiter: Awaited<ReturnType<Wakeups['listen']>> | undefined;
    try {
      for (;;) {
        if ((await this.redis.tkQueuePut(this.stream, this.unfinishedKey, this.maxsize, text, this.#putChannel)) === 1) return;
        const left = deadline - performance.now();
        if (left <= 0)
          throw new QueueFullError(`RedisQueue "${this.name}" stayed full (maxsize ${this.maxsize}) for ${timeoutMs} ms; the item was not queued.`);
        if (!waiter) waiter = await this.wakeups.listen(this.#spaceChannel);
        else await waiter.wait(left, signal);
        this.checkOpen();
      }
    } finally {
      waiter?.done();
    }
  }

  /** `put` without waiting: rejects with `QueueFullError` when the queue is full. */
  putNowait(item: T): Promise<void> {
    return this.put(item, { timeoutMs: 0 });
  }

  /**
   * Removes and returns the oldest item, waiting while the queue is empty (a blocking
   * `XREADGROUP`, in slices of half the visibility timeout so that entries left by dead consumers
   * are picked up too).
   * - `timeoutMs`: when it runs out, rejects with `QueueEmptyError`.
   * - `signal`: rejects with `signal.reason`; an entry that was in transit comes back after
   *   `visibilityTimeoutMs`.
   * Delivery: see the class (`RedisQueue`: at-most-once; `RedisJoinableQueue`: at-least-once).
   */
  async get(options: QueueWaitOptions = {}): Promise<T> {
    return this.command('get', () => this.#get(options), options.signal);
  }

  async #get({ timeoutMs, signal }: QueueWaitOptions): Promise<T> {
    const ms = checkTimeout(timeoutMs, 'RedisQueue.get()');
    checkSignal(signal, 'RedisQueue.get()');
    signal?.throwIfAborted();
    await this.ready();
    const deadline = performance.now() + ms;
    for (;;) {
      const entry = (await this.#reclaim()) ?? (await this.#read(deadline, signal));
      if (entry) return this.#deliver(entry);
      if (deadline - performance.now() <= 0) throw new QueueEmptyError(`RedisQueue "${this.name}" stayed empty for ${timeoutMs} ms.`);
    }
  }

  /** `get` without waiting: rejects with `QueueEmptyError` when the queue is empty. */
  getNowait(): Promise<T> {
    return this.get({ timeoutMs: 0 });
  }

  /** Entries idle past the visibility timeout (their consumer died or hung) come back here first. */
  async #reclaim(): Promise<Entry | undefined> {
    const r = (await this.redis.call('XAUTOCLAIM', this.stream, GROUP, this.consumer, String(this.visibilityTimeoutMs), '0-0', 'COUNT', '1')) as [
      string,
      Array<[string, string[]] | null>,
    ];
    const hit = r[1].find((e) => e !== null);
    return hit ? { id: hit[0], text: hit[1][1]! } : undefined;
  }

  async #read(deadline: number, signal: AbortSignal | undefined): Promise<Entry | undefined> {
    const left = deadline - performance.now();
    const args = ['GROUP', GROUP, this.consumer, 'COUNT', '1'];
    if (left <= 0) {
      const r = (await this.redis.call('XREADGROUP', ...args, 'STREAMS', this.stream, '>')) as StreamReply;
      return first(r);
    }
    // Named, so that an aborted read can be found and unblocked on the server (CLIENT UNBLOCK), even after a reconnect.
    const reader = (this.#reader ??= this.#conn.duplicate({ connectionName: this.#readerName }));
    const block = Math.max(1, Math.ceil(Math.min(left, this.visibilityTimeoutMs / 2)));
    const read = reader.call('XREADGROUP', ...args, 'BLOCK', String(block), 'STREAMS', this.stream, '>') as Promise<StreamReply>;
    if (!signal) return first(await read);
    read.catch(() => {});
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const r = await Promise.race([read, aborted]);
      if (r !== 'aborted') return first(r);
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
    await this.#takeBack(reader, read);
    throw signal.reason;
  }

  /**
   * Ends an aborted blocking read on the server before `get` rejects: the read would otherwise
   * still take the next entry put, for a caller who is gone (pending under this consumer, not
   * counted as queued, back only after the visibility timeout). An entry it took meanwhile is
   * queued again, at the end. If the read cannot be unblocked, its connection is dropped: what it
   * takes then comes back after `visibilityTimeoutMs`.
   */
  async #takeBack(reader: Redis, read: Promise<StreamReply>): Promise<void> {
    let settled = false;
    const done = read.then(
      (r) => ((settled = true), r),
      () => ((settled = true), null),
    );
    try {
      // The read may not have reached the server yet: try again for a moment.
      for (let i = 0; i < 5 && !settled; i++) {
        const id = await this.#clientId();
        if (id !== undefined && (await this.redis.call('CLIENT', 'UNBLOCK', id)) === 1) break;
        await Promise.race([done, new Promise((r) => setTimeout(r, 20))]);
      }
      const r = await Promise.race([done, new Promise<'late'>((res) => setTimeout(() => res('late'), 1000))]);
      if (r === 'late') throw new Error('the blocked read did not end');
      const entry = first(r);
      if (entry) await this.redis.tkQueueRequeue(this.stream, entry.id, this.#putChannel);
    } catch {
      if (this.#reader === reader) this.#reader = undefined;
      reader.disconnect();
    }
  }

  /** The server's id of this object's reader connection, by its name. */
  async #clientId(): Promise<string | undefined> {
    const list = String(await this.redis.call('CLIENT', 'LIST', 'TYPE', 'normal'));
    const line = list.split('\n').find((l) => l.includes(` name=${this.#readerName} `));
    return line ? /(?:^|\s)id=(\d+)/.exec(line)?.[1] : undefined;
  }

  async #deliver(entry: Entry): Promise<T> {
    let value: T;
    try {
      value = (await unpack(entry.text, this.#root)) as T;
    } catch (err) {
      // An item this side cannot rebuild would come back forever: drop it, and say so.
      await this.acknowledge(entry.id);
      throw err;
    }
    await this.taken(entry.id);
    return value;
  }

  /** What `get` does with an entry once rebuilt: here, acknowledge and delete it (at-most-once). */
  protected async taken(id: string): Promise<void> {
    await this.acknowledge(id);
  }

  /** XACK + XDEL + one fewer unfinished; false when another consumer had already acknowledged it. */
  protected async acknowledge(id: string): Promise<boolean> {
    return (await this.redis.tkQueueAck(this.stream, this.unfinishedKey, id, this.doneChannel, this.#spaceChannel)) === 1;
  }

  /** Items queued and not yet delivered (a snapshot). */
  async qsize(): Promise<number> {
    return this.command('qsize', () => this.redis.tkQueueSize(this.stream));
  }

  /** Throws InvalidStateError after close() (or RedisUnavailableError once Redis was found unreachable). */
  protected checkOpen(): void {
    this.#conn.guard();
  }

  /**
   * Runs one call's commands, failing as the object's state says (closed, Redis never reached)
   * rather than as ioredis does; `signal`'s reason and threadkit's own errors pass unchanged.
   */
  protected async command<R>(what: string, run: () => Promise<R>, signal?: AbortSignal): Promise<R> {
    this.#conn.guard();
    try {
      return await run();
    } catch (err) {
      throw this.#conn.typed(err, `${this.constructor.name} "${this.name}" ${what}`, signal);
    }
  }

  async empty(): Promise<boolean> {
    return (await this.qsize()) === 0;
  }

  /** Whether `maxsize` items are queued (always false without `maxsize`, as in Python). */
  async full(): Promise<boolean> {
    return this.maxsize > 0 && (await this.qsize()) >= this.maxsize;
  }

  /**
   * Closes this object's connections (the queue itself stays in Redis for everyone else). Entries
   * it got and did not acknowledge come back to others after `visibilityTimeoutMs`.
   */
  async close(): Promise<void> {
    this.#conn.markClosed();
    this.wakeups.close();
    this.#reader?.disconnect();
    await this.#conn.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function first(r: StreamReply): Entry | undefined {
  if (!r || r.length === 0) return undefined;
  const entries = (Array.isArray(r[0]) ? (r[0] as unknown[])[1] : r[1]) as Array<[string, string[]]> | undefined;
  const e = entries?.[0];
  return e ? { id: e[0], text: e[1][1]! } : undefined;
}
