/**
 * The Lua scripts of `RedisLock`. Each runs atomically in Redis, so "check the holder, then
 * change the state" cannot interleave with another client.
 *
 * Keys of a lock named N (prefix `tk`): `tk:lock:{N}` — the lease, a string holding the holder's
 * random token, with a PX expiry; `tk:lock:{N}:meta` — a hash that outlives leases: `fence` (the
 * counter, bumped by every acquisition, seeded from Redis's clock when there is no record), `token` and `state` of the newest acquisition:
 * `held`, `released`, or `expired-unreleased` (the lease ran out under a holder that never
 * released: the lock is poisoned until `recover()`).
 */
import type { Redis } from 'ioredis';
import { defineScripts } from './scripts.ts';

/** KEYS: lease, meta. ARGV: token, leaseMs. → {1, fence} acquired; {0, pttl} taken; {-1, fence} poisoned. */
const ACQUIRE = `
local pttl = redis.call('PTTL', KEYS[1])
if pttl ~= -2 then return {0, pttl} end
local state = redis.call('HGET', KEYS[2], 'state')
if state == 'held' then
  redis.call('HSET', KEYS[2], 'state', 'expired-unreleased')
  state = 'expired-unreleased'
end
if state == 'expired-unreleased' then
  return {-1, tonumber(redis.call('HGET', KEYS[2], 'fence')) or 0}
end
if redis.call('HEXISTS', KEYS[2], 'fence') == 0 then
  -- No record (a new lock, or Redis lost its data): start above every fence issued before, so a
  -- fence is never handed out twice. Redis's clock in microseconds exceeds the count of all
  -- earlier acquisitions (at most one per microsecond) and stays below 2^53 until the 2250s.
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[2], 'fence', t[1] .. string.format('%06d', tonumber(t[2])))
end
local fence = redis.call('HINCRBY', KEYS[2], 'fence', 1)
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
redis.call('HSET', KEYS[2], 'state', 'held', 'token', ARGV[1])
return {1, fence}`;

/** KEYS: lease. ARGV: token, leaseMs. → 1 renewed, 0 not the holder any more. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/**
 * KEYS: lease, meta. ARGV: token, channel. → 1 released; 2 released after the lease ran out,
 * nobody had taken it; 3 the lease ran out and the lock is poisoned; 0 another holder took it.
 */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'state', 'released')
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
if redis.call('HGET', KEYS[2], 'token') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[2], 'state') == 'held' then
  redis.call('HSET', KEYS[2], 'state', 'released')
  redis.call('PUBLISH', ARGV[2], 'released')
  return 2
end
return 3`;

/**
 * KEYS: meta, target. ARGV: fence, value, token. → {1, fence} written; {0, newest fence} refused.
 * A fence is current while no acquisition came after it and its holder has not released or been
 * declared dead: then nobody else can have written under the lock since. The writer's token must
 * be the newest acquisition's too: should Redis lose its data, the fence alone could repeat.
 */
const SET_IF_FENCE = `
local current = tonumber(redis.call('HGET', KEYS[1], 'fence')) or 0
if tonumber(ARGV[1]) ~= current or redis.call('HGET', KEYS[1], 'state') ~= 'held' then return {0, current} end
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[3] then return {0, current} end
redis.call('SET', KEYS[2], ARGV[2])
return {1, current}`;

/** KEYS: lease, meta. ARGV: channel. → 1 when the lock was poisoned (or its lease ran out unreleased) and is now free. */
const RECOVER = `
local state = redis.call('HGET', KEYS[2], 'state')
if state == 'held' and redis.call('EXISTS', KEYS[1]) == 0 then state = 'expired-unreleased' end
if state ~= 'expired-unreleased' then return 0 end
redis.call('HSET', KEYS[2], 'state', 'released')
redis.call('PUBLISH', ARGV[1], 'released')
return 1`;

export interface LockCommands {
  tkLockAcquire(lease: string, meta: string, token: string, leaseMs: number): Promise<[number, number]>;
  tkLockRenew(lease: string, token: string, leaseMs: number): Promise<number>;
  tkLockRelease(lease: string, meta: string, token: string, channel: string): Promise<number>;
  tkLockSetIfFence(meta: string, target: string, fence: number, value: string | Buffer, token: string): Promise<[number, number]>;
  tkLockRecover(lease: string, meta: string, channel: string): Promise<number>;
}

/** Registers the scripts on `client` (scripts.ts). */
export function lockCommands(client: Redis): Redis & LockCommands {
  return defineScripts<LockCommands>(client, {
    tkLockAcquire: { numberOfKeys: 2, lua: ACQUIRE },
    tkLockRenew: { numberOfKeys: 1, lua: RENEW },
    tkLockRelease: { numberOfKeys: 2, lua: RELEASE },
    tkLockSetIfFence: { numberOfKeys: 2, lua: SET_IF_FENCE },
    tkLockRecover: { numberOfKeys: 2, lua: RECOVER },
  });
}
