/**
 * How `threadkit/redis` reaches Redis: a URL (`redis://host:6379/0`), ioredis options, or an
 * ioredis client the caller owns. Every object makes the extra connections it needs (a
 * subscriber, a blocking reader) as duplicates, and closes only the connections it made.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { InvalidArgumentError } from '../errors.ts';
import { RedisUnavailableError } from './errors.ts';

export type RedisConnection = string | RedisOptions | Redis;

export interface Connected {
  /** For commands. */
  client: Redis;
  /** Makes another connection to the same server (for SUBSCRIBE or a blocking read). */
  duplicate(): Redis;
  /** Closes the connections this object made; the caller's own client stays open. */
  close(): Promise<void>;
}

export function checkConnection(redis: unknown, who: string): RedisConnection {
  if (typeof redis === 'string' && /^rediss?:\/\//.test(redis)) return redis;
  if (redis instanceof Redis) return redis;
  if (redis !== null && typeof redis === 'object' && !Array.isArray(redis)) return redis as RedisOptions;
  throw new InvalidArgumentError(
    `${who} needs \`redis\`: a URL such as 'redis://127.0.0.1:6379', ioredis options or an ioredis client; got ${redis === undefined ? 'nothing' : JSON.stringify(redis)}.`,
  );
}

/** Opens `redis` (or wraps the caller's client). `maxRetriesPerRequest: null` keeps commands queued across a restart. */
export function connect(redis: RedisConnection, extra: RedisOptions = {}): Connected {
  const made: Redis[] = [];
  const open = (): Redis => {
    const c =
      typeof redis === 'string'
        ? new Redis(redis, { maxRetriesPerRequest: null, ...extra })
        : new Redis({ maxRetriesPerRequest: null, ...(redis as RedisOptions), ...extra });
    // Connection errors are retried by ioredis and surface as failed commands; do not crash on the event.
    c.on('error', () => {});
    made.push(c);
    return c;
  };
  const client = redis instanceof Redis ? redis : open();
  return {
    client,
    duplicate() {
      const c = client.duplicate({ maxRetriesPerRequest: null, ...extra });
      c.on('error', () => {});
      made.push(c);
      return c;
    },
    async close() {
      // QUIT waits for Redis; a Redis that does not answer gets a second, then the socket is dropped.
      await Promise.all(made.splice(0).map((c) => atMost(1000, c.quit()).finally(() => c.disconnect())));
    },
  };
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
