/**
 * `RedisLock`: a lock that excludes processes on any number of machines, as a *lease with a
 * fencing token* in one Redis.
 *
 * ```ts
 * const lock = new RedisLock({ redis: 'redis://127.0.0.1:6379', name: 'accounts' });
 * await lock.withLock(async ({ fence, signal }) => {
 *   const balance = Number(await redis.get('balance'));
 *   await lock.setIfFence('balance', String(balance + 1), fence); // refused if another holder came after us
 * });
 * ```
 *
 * **Lease.** Holding the lock means holding a key with a PX expiry (`leaseMs`), renewed every
 * `renewEveryMs` while held. A holder that stops (crash, SIGSTOP, a long GC pause, a lost
 * network) loses the lock when the lease runs out, so others are not blocked forever.
 *
 * **Fence.** Every acquisition gets a number that grows with each acquisition (`fence`). A lease
 * alone does not exclude a holder that paused past its lease and woke up still believing it holds
 * the lock (Kleppmann, 2016); a write that carries its fence can be refused. `setIfFence` is such
 * a write, checked by Redis itself in the same Lua script that writes.
 *
 * **Lease lost.** The `signal` of a holding aborts (with a `LeaseLostError`) when a renewal finds
 * another holder, or when the holder's own clock says the lease ran out (renewals that got no
 * answer in time) — before Redis lets anyone else in, by a small margin for clock drift.
 *
 * **Owner died.** A lease that ran out under a holder that never released poisons the lock, as a
 * local `Lock` whose holder died: the next acquirer (and every later one) gets a
 * `LockOwnerDiedError` until `recover()`. Redis records it as state `expired-unreleased`.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InvalidArgumentError, LockNotHeldError, LockOwnerDiedError, ThreadkitError, TimeoutError } from '../errors.ts';
import { checkSignal, checkTimeout } from '../internal/timeout.ts';
import { checkConnectTimeout, checkConnection, connect, keyBase, unavailable, type Connected, type RedisConnection } from './connection.ts';
import { LeaseLostError, RedisUnavailableError, StaleFenceError } from './errors.ts';
import { lockCommands, type LockCommands } from './lock-scripts.ts';
import { Wakeups } from './wakeups.ts';

export interface RedisLockOptions {
  /** A URL (`redis://127.0.0.1:6379`), ioredis options, or an ioredis client (left open by `close()`). */
  redis: RedisConnection;
  /** The lock's name: every `RedisLock` with this name (and prefix) on the same Redis is the same lock. */
  name: string;
  /** How long a lease lasts without renewal. Default 10 000 ms, at least 100. */
  leaseMs?: number;
  /** How often a held lease is renewed. Default `leaseMs / 3`. */
  renewEveryMs?: number;
  /** Prefix of the lock's keys. Default `'tk'`. */
  prefix?: string;
  /**
   * How long the first connection to Redis may take. Past it every call rejects with
   * `RedisUnavailableError` (a connection that was up and drops is waited for without a limit).
   * Default 10 000 ms; `Infinity` waits without end. Not applied to a client you pass.
   */
  connectTimeoutMs?: number;
}

export interface AcquireOptions {
  /** Give up after this long and resolve `false`; `0` tries once. Left out, `-1` or `Infinity`: wait as long as it takes (internal/timeout.ts). */
  timeoutMs?: number;
  /** Abort the wait: rejects with `signal.reason`, and nothing is left acquired. */
  signal?: AbortSignal;
}

/** What `withLock`'s function gets: the fence of this acquisition, and a signal that aborts when the lease is lost. */
export interface Holding {
  readonly fence: number;
  readonly signal: AbortSignal;
}

interface Hold {
  token: string;
  fence: number;
  controller: AbortController;
  /** When the holder's own clock says the lease runs out (performance.now()). */
  deadline: number;
  renewTimer: ReturnType<typeof setTimeout> | undefined;
  expireTimer: ReturnType<typeof setTimeout> | undefined;
}

/** Drift allowance between this clock and Redis's (Redlock's rule: 1% of the lease + 2 ms). */
const drift = (leaseMs: number) => Math.ceil(leaseMs * 0.01) + 2;
/** How long `acquire({ timeoutMs: 0 })` awaits the answer of its one try before it gives up (false). */
export const TRY_ONCE_MS = 1000;

export class RedisLock {
  readonly name: string;
  readonly leaseMs: number;
  readonly renewEveryMs: number;
  readonly #conn: Connected;
  readonly #redis: Redis & LockCommands;
  readonly #lease: string;
  readonly #meta: string;
  readonly #channel: string;
  readonly #wakeups: Wakeups;
  #hold: Hold | undefined;

  constructor(options: RedisLockOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('new RedisLock() needs options: { redis, name }.');
    const redis = checkConnection(options.redis, 'RedisLock');
    const base = keyBase(options.prefix ?? 'tk', 'lock', options.name);
    const leaseMs = options.leaseMs ?? 10_000;
    if (!Number.isInteger(leaseMs) || leaseMs < 100)
      throw new InvalidArgumentError(`Expected \`leaseMs\` to be an integer from 100 up, got \`${String(leaseMs)}\`.`);
    const renewEveryMs = options.renewEveryMs ?? Math.floor(leaseMs / 3);
    if (typeof renewEveryMs !== 'number' || !(renewEveryMs > 0 && renewEveryMs < leaseMs)) {
      throw new InvalidArgumentError(
        `Expected \`renewEveryMs\` to be a number of milliseconds between 0 and leaseMs (${leaseMs}), got \`${String(renewEveryMs)}\`.`,
      );
    }
    this.name = options.name;
    this.leaseMs = leaseMs;
    this.renewEveryMs = renewEveryMs;
    this.#lease = base;
    this.#meta = `${base}:meta`;
    this.#channel = `${base}:released`;
    this.#conn = connect(redis, `RedisLock "${options.name}"`, checkConnectTimeout(options.connectTimeoutMs));
    this.#redis = lockCommands(this.#conn.client);
    this.#wakeups = new Wakeups(() => this.#conn.duplicate());
  }

  /** The fence of the current holding through this object, or `undefined` when it holds nothing. */
  get fence(): number | undefined {
    return this.#hold?.fence;
  }

  /** The signal of the current holding (aborts when its lease is lost), or `undefined`. */
  get signal(): AbortSignal | undefined {
    return this.#hold?.controller.signal;
  }

  /**
   * Acquires the lock: resolves `true` once held, `false` when `timeoutMs` passed first (then
   * nothing is left acquired, even if the attempt in flight succeeds later: it is released).
   * `timeoutMs: 0` tries once: its one round trip is awaited (for up to {@link TRY_ONCE_MS} ms),
   * so a free lock is acquired however slow the network, as a local `acquire({ timeoutMs: 0 })` is.
   * Waits for a release message (pub/sub) or for the holder's lease to run out, not by polling.
   * - Rejects with `LockOwnerDiedError` when the lock is poisoned (a lease ran out under a holder
   *   that never released); `recover()` makes it usable.
   * - Rejects with `signal.reason` when `signal` aborts; nothing is left acquired.
   * - Rejects with `RedisUnavailableError` when Redis refuses the command.
   * One object holds one lease at a time: a second `acquire()` through it waits like any other client.
   */
  async acquire({ timeoutMs, signal }: AcquireOptions = {}): Promise<boolean> {
    const ms = checkTimeout(timeoutMs, 'RedisLock.acquire()');
    checkSignal(signal, 'RedisLock.acquire()');
    signal?.throwIfAborted();
    this.#conn.guard();
    const deadline = performance.now() + ms;
    // The first attempt's answer always counts when it comes within a round trip's allowance.
    let answerBy = ms === 0 ? performance.now() + TRY_ONCE_MS : deadline;
    let waiter: Awaited<ReturnType<Wakeups['listen']>> | undefined;
    try {
      for (;;) {
        const token = randomUUID();
        const sent = performance.now();
        const attempt = this.#redis.tkLockAcquire(this.#lease, this.#meta, token, this.leaseMs);
        const answer = await this.#bounded(attempt, answerBy, signal, token);
        answerBy = deadline;
        if (answer === undefined) {
          // No answer from a Redis never reached is not a busy lock: say so, not `false`.
          if (!this.#conn.up)
            throw new RedisUnavailableError(
              `RedisLock "${this.name}" acquire got no answer within ${ms === 0 ? TRY_ONCE_MS : ms} ms: Redis has not been reached yet. Check that it is running and reachable at the URL given.`,
            );
          return false;
        }
        const [code, n] = answer;
        if (code === 1) {
          if (this.#conn.closed) {
            // Acquired while close() ran: give it back; the object takes no new holding.
            await this.#redis.tkLockRelease(this.#lease, this.#meta, token, this.#channel).catch(() => {});
            this.#conn.guard();
          }
          if (this.#hold) {
            // Another acquire() through this object got in first; ours is a second holding the object cannot track.
            await this.#redis.tkLockRelease(this.#lease, this.#meta, token, this.#channel);
          } else if (signal?.aborted) {
            await this.#redis.tkLockRelease(this.#lease, this.#meta, token, this.#channel);
            throw signal.reason;
          } else {
            this.#start(token, n, sent);
            return true;
          }
        }
        if (code === -1) throw this.#poisoned(n);
        const left = deadline - performance.now();
        if (left <= 0) return false;
        if (!waiter) {
          // Subscribe, then try again at once: a release between the attempt and the subscription is not missed.
          waiter = await this.#wakeups.listen(this.#channel);
          continue;
        }
        // Sleep until a release message, the holder's lease runs out (pttl), or our deadline.
        await waiter.wait(Math.min(left, code === 0 && n > 0 ? n + 1 : 50), signal);
        this.#conn.guard();
      }
    } catch (err) {
      throw this.#conn.typed(err, `RedisLock "${this.name}" acquire`, signal);
    } finally {
      waiter?.done();
    }
  }

  /** Awaits `attempt` until `deadline` or the signal; if we stop waiting, a late success is released. */
  async #bounded<T extends [number, number]>(attempt: Promise<T>, deadline: number, signal: AbortSignal | undefined, token: string): Promise<T | undefined> {
    if (deadline === Infinity && !signal) return attempt;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<'timeout'>((resolve, reject) => {
      if (deadline !== Infinity) timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - performance.now()));
      onAbort = () => reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    let answered = false;
    try {
      const r = await Promise.race([attempt, stop]);
      answered = r !== 'timeout';
      return r === 'timeout' ? undefined : r;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      // An attempt we stopped waiting for may still land: give that lease straight back.
      if (!answered) {
        attempt.then(
          (r) => void (r[0] === 1 && this.#redis.tkLockRelease(this.#lease, this.#meta, token, this.#channel).catch(() => {})),
          () => {},
        );
      }
    }
  }

  #start(token: string, fence: number, sent: number): void {
    const hold: Hold = { token, fence, controller: new AbortController(), deadline: 0, renewTimer: undefined, expireTimer: undefined };
    this.#hold = hold;
    this.#extend(hold, sent);
    const renew = () => {
      hold.renewTimer = undefined;
      const at = performance.now();
      this.#redis.tkLockRenew(this.#lease, token, this.leaseMs).then(
        (ok) => {
          if (this.#hold !== hold) return;
          if (ok === 1) this.#extend(hold, at);
          else return this.#lost(hold, `another client holds RedisLock "${this.name}" now: its lease (fence ${fence}) ran out before it was renewed`);
          hold.renewTimer = setTimeout(renew, this.renewEveryMs);
          hold.renewTimer.unref();
        },
        () => {
          // No answer: try again; the holder's own clock ends the holding if none comes in time.
          if (this.#hold !== hold || hold.controller.signal.aborted) return;
          hold.renewTimer = setTimeout(renew, Math.min(this.renewEveryMs, 100));
          hold.renewTimer.unref();
        },
      );
    };
    hold.renewTimer = setTimeout(renew, this.renewEveryMs);
    hold.renewTimer.unref();
  }

  /** The lease now lasts `leaseMs` from `sent` (when the command that set it was sent), less the drift. */
  #extend(hold: Hold, sent: number): void {
    hold.deadline = sent + this.leaseMs - drift(this.leaseMs);
    clearTimeout(hold.expireTimer);
    hold.expireTimer = setTimeout(
      () => this.#lost(hold, `the lease of RedisLock "${this.name}" (fence ${hold.fence}) ran out: no renewal was confirmed within ${this.leaseMs} ms`),
      Math.max(0, hold.deadline - performance.now()),
    );
    hold.expireTimer.unref();
  }

  #lost(hold: Hold, why: string): void {
    clearTimeout(hold.renewTimer);
    clearTimeout(hold.expireTimer);
    if (!hold.controller.signal.aborted)
      hold.controller.abort(new LeaseLostError(`Lost the lock: ${why}. Writes under it must be fenced (setIfFence) to be safe.`));
  }

  /**
   * Releases the current holding. Rejects with `LockNotHeldError` when this object holds nothing,
   * and with `LeaseLostError` when the lease ran out and another client took the lock (or it was
   * declared dead); in every case this object holds nothing afterwards. A lease that ran out with
   * nobody taking the lock meanwhile is released normally.
   */
  async release(): Promise<void> {
    const hold = this.#hold;
    if (!hold) throw new LockNotHeldError(`release() of RedisLock "${this.name}", which this object does not hold.`);
    this.#hold = undefined;
    clearTimeout(hold.renewTimer);
    clearTimeout(hold.expireTimer);
    let code: number;
    try {
      code = await this.#redis.tkLockRelease(this.#lease, this.#meta, hold.token, this.#channel);
    } catch (err) {
      // The lease runs out by itself; the next acquirer is told the holder did not release.
      this.#lost(hold, 'the release did not reach Redis');
      const typed = this.#conn.typed(err, `RedisLock "${this.name}" release`);
      throw typed instanceof ThreadkitError ? typed : unavailable(`RedisLock "${this.name}" release`, err);
    }
    if (code === 1 || code === 2) return;
    this.#lost(hold, 'released too late');
    throw new LeaseLostError(
      code === 0
        ? `release() of RedisLock "${this.name}" came after its lease (fence ${hold.fence}) ran out and another client acquired it. Work done under it after the lease ran out was not protected; fence its writes with setIfFence.`
        : `release() of RedisLock "${this.name}" came after its lease (fence ${hold.fence}) ran out and another client was told its holder died (LockOwnerDiedError); the lock stays poisoned until recover().`,
    );
  }

  /**
   * Runs `fn({ fence, signal })` holding the lock and releases it however `fn` ends. Throws a
   * `TimeoutError` when `timeoutMs` passes before the lock is acquired. If `fn` succeeded but the
   * lease was lost and another client took the lock, rejects with `LeaseLostError`.
   */
  async withLock<T>(fn: (holding: Holding) => T | Promise<T>, options: AcquireOptions = {}): Promise<T> {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`withLock() needs a function, got ${typeof fn}.`);
    if (!(await this.acquire(options))) throw new TimeoutError(`RedisLock "${this.name}" was not acquired within ${options.timeoutMs} ms.`);
    const hold = this.#hold!;
    let result: T;
    try {
      result = await fn({ fence: hold.fence, signal: hold.controller.signal });
    } catch (err) {
      await this.release().catch(() => {});
      throw err;
    }
    await this.release();
    return result;
  }

  /**
   * Writes `value` to `key` only if `fence` is still the lock's newest and its holding still
   * stands (not released, not declared dead): checked and written by one Lua script, so a
   * holder that paused past its lease cannot overwrite the work of the one that came after it.
   * The write goes through the object that holds `fence`: its holding's random token is checked
   * with the fence, so a stale holder is refused even if Redis lost its data and fences repeated.
   * Rejects with `StaleFenceError` (nothing written) otherwise.
   */
  async setIfFence(key: string, value: string | Buffer, fence: number): Promise<void> {
    if (typeof key !== 'string' || key === '') throw new InvalidArgumentError(`Expected \`key\` to be a non-empty string, got ${JSON.stringify(key)}.`);
    if (!Number.isInteger(fence) || fence < 1)
      throw new InvalidArgumentError(`Expected \`fence\` to be a fence from acquire (an integer from 1 up), got \`${String(fence)}\`.`);
    // The holding's own token goes with the fence: Redis checks both (lock-scripts.ts).
    const hold = this.#hold?.fence === fence ? this.#hold : undefined;
    const [ok, current] = await this.#command('setIfFence', () => this.#redis.tkLockSetIfFence(this.#meta, key, fence, value, hold?.token ?? ''));
    if (ok === 1) return;
    throw new StaleFenceError(
      fence,
      current,
      `Refused a write to "${key}" with fence ${fence} of RedisLock "${this.name}": ` +
        (current > fence
          ? `fence ${current} was issued since, so another holder took over after this lease ran out.`
          : current === fence && !hold
            ? 'this object does not hold that fence; write through the RedisLock object that acquired it.'
            : current === fence
              ? 'another holder has the lock under the same fence number (Redis lost its data and restarted), so this lease is lost.'
              : 'that holding was released or declared dead.'),
    );
  }

  /** Whether anyone holds the lease now. */
  async locked(): Promise<boolean> {
    return (await this.#command('locked', () => this.#redis.exists(this.#lease))) === 1;
  }

  /** Whether the lock is poisoned (state `expired-unreleased`), including a lease that ran out unnoticed. */
  async poisoned(): Promise<boolean> {
    const [lease, state] = await this.#command('poisoned', () => Promise.all([this.#redis.exists(this.#lease), this.#redis.hget(this.#meta, 'state')]));
    return state === 'expired-unreleased' || (state === 'held' && lease === 0);
  }

  /**
   * Makes a poisoned lock usable again; returns whether it was poisoned. Call it once the data the
   * lock guards is known to be consistent (the dead holder may have left it half-updated).
   */
  async recover(): Promise<boolean> {
    return (await this.#command('recover', () => this.#redis.tkLockRecover(this.#lease, this.#meta, this.#channel))) === 1;
  }

  /** Runs one call's commands, failing as the object's state says (closed, Redis never reached) rather than as ioredis does. */
  async #command<T>(what: string, run: () => Promise<T>): Promise<T> {
    this.#conn.guard();
    try {
      return await run();
    } catch (err) {
      throw this.#conn.typed(err, `RedisLock "${this.name}" ${what}`);
    }
  }

  #poisoned(fence: number): LockOwnerDiedError {
    return new LockOwnerDiedError(
      `RedisLock "${this.name}" is poisoned: the lease of its holder (fence ${fence}) ran out and it never released. ` +
        'The data it guards may be half-updated; repair or discard it, then call lock.recover() to make the lock usable again.',
    );
  }

  /** Releases a holding (best effort) and closes the connections this object opened. */
  async close(): Promise<void> {
    // First refuse new calls and wake the pending waits (they reject with InvalidStateError), then let go.
    this.#conn.markClosed();
    this.#wakeups.close();
    if (this.#hold) await this.release().catch(() => {});
    await this.#conn.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
