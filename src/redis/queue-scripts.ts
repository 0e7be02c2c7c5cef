/**
 * The Lua scripts of `RedisQueue` and `RedisJoinableQueue`. The queue is a Redis Stream read
 * through one consumer group: the group remembers which entry went to which consumer, since when,
 * and how often (its pending entries list), which is exactly what redelivery needs — no
 * home-made bookkeeping.
 *
 * Keys of a queue named N: `tk:queue:{N}` — the stream (one field `v`, the packed item) with
 * consumer group `tk`; `tk:queue:{N}:unfinished` — items put and not yet done (join).
 * Entries are deleted once acknowledged, so the stream holds undelivered + pending entries:
 * queued = XLEN − pending.
 */
import type { Redis } from 'ioredis';
import { defineScripts } from './scripts.ts';

export const GROUP = 'tk';

/** KEYS: stream, unfinished. ARGV: maxsize (0: none), item, channel. → 1 put, 0 full. */
const PUT = `
local max = tonumber(ARGV[1])
if max > 0 then
  local pending = redis.call('XPENDING', KEYS[1], '${GROUP}')[1]
  if redis.call('XLEN', KEYS[1]) - pending >= max then return 0 end
end
redis.call('XADD', KEYS[1], '*', 'v', ARGV[2])
redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], 'put')
return 1`;

/** KEYS: stream, unfinished. ARGV: entry id, done channel, space channel. → 1 acknowledged now, 0 already (redelivered and done elsewhere). */
const ACK = `
local acked = redis.call('XACK', KEYS[1], '${GROUP}', ARGV[1])
redis.call('PUBLISH', ARGV[3], 'got')
if acked == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
if redis.call('DECR', KEYS[2]) <= 0 then redis.call('PUBLISH', ARGV[2], 'done') end
return 1`;

/**
 * KEYS: stream. ARGV: entry id, put channel. → 1 when the entry, delivered to a read that was
 * aborted, is queued again (at the end, as undelivered); 0 when it was not pending any more.
 */
const REQUEUE = `
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 or redis.call('XACK', KEYS[1], '${GROUP}', ARGV[1]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[1], '*', unpack(e[1][2]))
redis.call('PUBLISH', ARGV[2], 'put')
return 1`;

/** KEYS: stream. ARGV: consumer, ids… → resets the idle time of the ids this consumer still owns (a heartbeat). */
const TOUCH = `
local kept = 0
for i = 2, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], '${GROUP}', ARGV[i], ARGV[i], 1, ARGV[1])
  if #p == 1 then
    redis.call('XCLAIM', KEYS[1], '${GROUP}', ARGV[1], 0, ARGV[i], 'JUSTID')
    kept = kept + 1
  end
end
return kept`;

/** KEYS: stream. → items queued (undelivered). */
const SIZE = `
local ok, pending = pcall(redis.call, 'XPENDING', KEYS[1], '${GROUP}')
if not ok then return 0 end
return redis.call('XLEN', KEYS[1]) - pending[1]`;

export interface QueueCommands {
  tkQueuePut(stream: string, unfinished: string, maxsize: number, item: string, channel: string): Promise<number>;
  tkQueueAck(stream: string, unfinished: string, id: string, doneChannel: string, spaceChannel: string): Promise<number>;
  tkQueueTouch(stream: string, consumer: string, ...ids: string[]): Promise<number>;
  tkQueueSize(stream: string): Promise<number>;
  tkQueueRequeue(stream: string, id: string, putChannel: string): Promise<number>;
}

/** Registers the scripts on `client` (scripts.ts). */
export function queueCommands(client: Redis): Redis & QueueCommands {
  return defineScripts<QueueCommands>(client, {
    tkQueuePut: { numberOfKeys: 2, lua: PUT },
    tkQueueAck: { numberOfKeys: 2, lua: ACK },
    tkQueueTouch: { numberOfKeys: 1, lua: TOUCH },
    tkQueueSize: { numberOfKeys: 1, lua: SIZE },
    tkQueueRequeue: { numberOfKeys: 1, lua: REQUEUE },
  });
}
