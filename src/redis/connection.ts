/**
 * How `threadkit/redis` reaches Redis: a URL (`redis://host:6379/0`), ioredis options, or an
 * ioredis client the caller owns. Every object makes the extra connections it needs (a
 * subscriber, a blocking reader) as duplicates, and closes only the connections it made.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { InvalidArgumentError, InvalidStateError, ThreadkitError } from '../errors.ts';
import { RedisUnavailableError } from './errors.ts';

export type RedisConnection = string | RedisOptions | Redis;

/** How long a connection this library opens may take to reach Redis the first time, by default. */
export const CONNECT_TIMEOUT_MS = 10_000;

export interface Connected {
  /** For commands. */
  client: Redis;
  /** Makes another connection to the same server (for SUBSCRIBE or a blocking read). */
  duplicate(options?: RedisOptions): Redis;
  /** Closes the connections this object made; the caller's own client stays open. */
  close(): Promise<void>;
  /** Whether `close()` (or `markClosed()`) was called. */
  readonly closed: boolean;
  /** Refuses every later call (InvalidStateError) before the connections are closed: an object's close() starts with it. */
  markClosed(): void;
  /** Whether the command connection has been ready once (a drop after that is waited out). */
  readonly up: boolean;
  /** Set when Redis was not reached within the connect timeout: every command fails with it since. */
  readonly failure: RedisUnavailableError | undefined;
  /** Throws the typed error of a closed or never-connected object, before a command is sent. */
  guard(): void;
  /**
   * The error a failed command reaches the caller as: the object's closing (InvalidStateError),
   * Redis never reached or refusing (RedisUnavailableError); threadkit's own errors and `keep`
   * (a signal's reason) unchanged.
   */
  typed(err: unknown, what: string, keep?: AbortSignal): unknown;
}

/**
 * An ioredis client, from this copy of ioredis or another (an application can have two): what
 * makes one is the methods this library calls. Anything else is taken as ioredis options.
 */
export function isRedisClient(redis: unknown): redis is Redis {
  if (redis instanceof Redis) return true;
  const c = redis as Record<string, unknown> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.duplicate === 'function' &&
    typeof c.sendCommand === 'function' &&
    typeof c.defineCommand === 'function' &&
    typeof c.status === 'string'
  );
}

export function checkConnection(redis: unknown, who: string): RedisConnection {
  if (typeof redis === 'string' && /^rediss?:\/\//.test(redis)) return redis;
  if (isRedisClient(redis)) return redis;
  const looksLikeClient = redis !== null && typeof redis === 'object' && ('sendCommand' in redis || 'duplicate' in redis || 'status' in redis);
  if (redis !== null && typeof redis === 'object' && !Array.isArray(redis) && !looksLikeClient) return redis as RedisOptions;
  throw new InvalidArgumentError(
    looksLikeClient
      ? `${who} was given an object that looks like a Redis client but lacks duplicate(), sendCommand(), defineCommand() or status; pass an ioredis client (\`new Redis(url)\`), ioredis options or a URL.`
      : `${who} needs \`redis\`: a URL such as 'redis://127.0.0.1:6379', ioredis options or an ioredis client; got ${redis === undefined ? 'nothing' : JSON.stringify(redis)}.`,
  );
}

export function checkConnectTimeout(ms: unknown): number {
  const out = ms ?? CONNECT_TIMEOUT_MS;
  if (typeof out !== 'number' || !(out > 0))
    throw new InvalidArgumentError(
      `Expected \`connectTimeoutMs\` to be a number of milliseconds > 0 (Infinity: wait for Redis without end), got \`${String(ms)}\`.`,
    );
  return out;
}

/** The URL or host:port, without a password, for messages. */
function where(redis: RedisConnection): string {
  if (typeof redis === 'string') return redis.replace(/\/\/[^@/]*@/, '//');
  const o = (isRedisClient(redis) ? redis.options : redis) as RedisOptions;
  return o.path ?? `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
}

/** The database a URL or options name (`redis://host:6379/3` → 3), for messages. */
function database(redis: RedisConnection): string | undefined {
  if (typeof redis === 'string') return /^rediss?:\/\/[^/]*\/(\d+)/.exec(redis)?.[1];
  const db = (isRedisClient(redis) ? redis.options : redis)?.db;
  return db === undefined ? undefined : String(db);
}

/**
 * Opens `redis` (or wraps the caller's client). `maxRetriesPerRequest: null` keeps commands queued
 * across a restart; the first connection must come within `connectTimeoutMs`, or every connection
 * this object made is dropped and its commands (queued and later) fail with RedisUnavailableError.
 * Once up, a connection that drops reconnects without a limit.
 */
export function connect(redis: RedisConnection, who: string, connectTimeoutMs = CONNECT_TIMEOUT_MS, extra: RedisOptions = {}): Connected {
  const made: Redis[] = [];
  let closed = false;
  let failure: RedisUnavailableError | undefined;
  let lastError: Error | undefined;
  const watch = (c: Redis) => {
    // Connection errors are retried by ioredis and surface as failed commands; keep the last one for the message.
    c.on('error', (err: Error) => void (lastError = err));
  };
  const open = (): Redis => {
    const c =
      typeof redis === 'string'
        ? new Redis(redis, { maxRetriesPerRequest: null, ...extra })
        : new Redis({ maxRetriesPerRequest: null, ...(redis as RedisOptions), ...extra });
    watch(c);
    made.push(c);
    return c;
  };
  const own = !isRedisClient(redis);
  const client = own ? open() : (redis as Redis);
  const fail = (message: string) => {
    if (failure || closed) return;
    failure = new RedisUnavailableError(message, { cause: lastError });
    for (const c of made) drop(c, failure);
  };
  const closedError = (cause?: unknown) => new InvalidStateError(`${who} is closed; create a new one.`, cause === undefined ? undefined : { cause });
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (own) {
    if (Number.isFinite(connectTimeoutMs)) {
      timer = setTimeout(() => {
        if (client.status !== 'ready')
          fail(
            `${who} could not reach Redis at ${where(redis)}: no connection within ${connectTimeoutMs} ms${lastError ? ` (${lastError.message})` : ''}. ` +
              `Check that Redis (7.x) is running and reachable at that URL, or give it longer with \`connectTimeoutMs\`.`,
          );
      }, connectTimeoutMs);
      // Not unref'd: while Redis is not reached, ioredis holds nothing that keeps the process alive,
      // and a program awaiting its first command would end silently instead of hearing why.
    }
    client.once('ready', () => clearTimeout(timer));
    const db = database(redis);
    // ioredis selects the database on connect, and a refused SELECT reaches only its 'error' event
    // while the commands run in database 0. Retrying never helps.
    client.on('error', (err: Error) => {
      if (db !== undefined && /DB index|SELECT/i.test(err.message))
        fail(
          `${who} cannot use database ${db} of Redis at ${where(redis)}: ${err.message}. ` +
            'Use a database number the server has (`databases` in redis.conf, 16 by default: 0 to 15).',
        );
    });
  }
  let up = client.status === 'ready';
  if (!up) client.once('ready', () => void (up = true));
  return {
    client,
    duplicate(options = {}) {
      const c = client.duplicate({ maxRetriesPerRequest: null, ...extra, ...options });
      watch(c);
      made.push(c);
      if (failure) drop(c, failure);
      return c;
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      // QUIT waits for Redis; a Redis that does not answer gets a second, then the socket is dropped.
      await Promise.all(made.splice(0).map((c) => (c.status === 'end' ? c.disconnect() : atMost(1000, c.quit()).finally(() => c.disconnect()))));
    },
    get closed() {
      return closed;
    },
    get up() {
      return up;
    },
    get failure() {
      return failure;
    },
    markClosed() {
      closed = true;
    },
    guard() {
      if (closed) throw closedError();
      if (failure) throw new RedisUnavailableError(failure.message, { cause: failure });
    },
    typed(err, what, keep) {
      if (err instanceof ThreadkitError || (keep?.aborted && err === keep.reason)) return err;
      if (closed) return closedError(err);
      if (failure) return new RedisUnavailableError(failure.message, { cause: failure });
      if (err instanceof Error && (err.name === 'ReplyError' || err.name === 'MaxRetriesPerRequestError')) return unavailable(what, err);
      return err;
    },
  };
}

/** The internals of ioredis that `drop` needs (present since ioredis 4). */
interface Internals {
  flushQueue?(error: Error): void;
  setStatus?(status: string): void;
}

/**
 * Ends a connection that never came up, failing the commands it holds with `error`. A disconnect
 * alone does not: between reconnect attempts ioredis only cancels the next one, keeps its queue,
 * and would queue later commands too.
 */
function drop(c: Redis, error: Error): void {
  c.disconnect();
  const inner = c as unknown as Internals;
  inner.flushQueue?.(error);
  if (c.status !== 'end') inner.setStatus?.('end');
}

/**
 * Waits for `step` (a close that talks to Redis) at most `ms`, never rejecting; the timer is
 * unref'd, so it never holds the process open itself. A close must end although Redis is gone.
 */
export function atMost(ms: number, step: Promise<unknown> | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void Promise.resolve(step)
      .catch(() => {})
      .then(() => {
        clearTimeout(timer);
        resolve();
      });
  });
}

/** Wraps a failed command as a typed error that says what to check. */
export function unavailable(what: string, err: unknown): RedisUnavailableError {
  const message = (err as Error)?.message ?? String(err);
  return new RedisUnavailableError(`${what} failed: ${message}. Check that Redis (7.x) is running and reachable at the URL given.`, { cause: err });
}

/** Keys of one object share a hash tag, so they live on one Redis Cluster slot too. */
export function keyBase(prefix: string, kind: string, name: string): string {
  if (typeof name !== 'string' || name === '' || /[{}\s]/.test(name)) {
    throw new InvalidArgumentError(`Expected \`name\` to be a non-empty string without spaces or braces, got ${JSON.stringify(name)}.`);
  }
  return `${prefix}:${kind}:{${name}}`;
}
