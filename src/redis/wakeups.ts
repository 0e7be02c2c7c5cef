/**
 * Waiting without polling: a waiter subscribes to a channel that the other side PUBLISHes to
 * (inside the same Lua script that changed the state), then re-checks, then sleeps until a
 * message, its own time limit or its signal. One subscriber connection serves every waiter of
 * an object; a channel stays subscribed while anyone waits on it.
 */
import type { Redis } from 'ioredis';

interface Channel {
  waiters: Set<() => void>;
  ready: Promise<unknown>;
}

export class Wakeups {
  readonly #open: () => Redis;
  #sub: Redis | undefined;
  readonly #channels = new Map<string, Channel>();

  constructor(open: () => Redis) {
    this.#open = open;
  }

  #connection(): Redis {
    if (!this.#sub) {
      this.#sub = this.#open();
      this.#sub.on('message', (channel: string) => {
        const c = this.#channels.get(channel);
        if (c) for (const wake of [...c.waiters]) wake();
      });
    }
    return this.#sub;
  }

  /**
   * Subscribes to `channel` (resolves once Redis confirms) and returns a waiter. Re-check the state
   * after this resolves and before `wait`: a message sent before the subscription is not seen.
   */
  async listen(channel: string): Promise<Waiter> {
    let c = this.#channels.get(channel);
    if (!c) {
      c = { waiters: new Set(), ready: this.#connection().subscribe(channel) };
      this.#channels.set(channel, c);
    }
    await c.ready;
    return new Waiter(this, channel, c);
  }

  /** @internal */
  drop(channel: string, c: Channel): void {
    if (c.waiters.size > 0 || this.#channels.get(channel) !== c) return;
    this.#channels.delete(channel);
    this.#sub?.unsubscribe(channel).catch(() => {});
  }

  /** Wakes every waiter (each re-checks, and finds its object closed) and drops the subscriber. */
  close(): void {
    for (const c of this.#channels.values()) for (const wake of [...c.waiters]) wake();
    this.#channels.clear();
    this.#sub?.disconnect();
    this.#sub = undefined;
  }
}

export class Waiter {
  readonly #owner: Wakeups;
  readonly #channel: string;
  readonly #c: Channel;
  #woken = false;
  readonly #mark = () => void (this.#woken = true);

  constructor(owner: Wakeups, channel: string, c: Channel) {
    this.#owner = owner;
    this.#channel = channel;
    this.#c = c;
    // Count messages from now on, so one that lands between a re-check and `wait` is not lost.
    c.waiters.add(this.#mark);
  }

  /** Resolves on a message (since the last wait), after `ms`, or rejects with the signal's reason. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#c.waiters.delete(wake);
        signal?.removeEventListener('abort', onAbort);
      };
      const wake = () => {
        done();
        resolve();
      };
      const onAbort = () => {
        done();
        reject(signal!.reason);
      };
      const timer = ms === Infinity ? undefined : setTimeout(wake, Math.max(0, ms));
      this.#c.waiters.add(wake);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
    }).finally(() => void (this.#woken = false));
  }

  /** Stops listening (the channel is unsubscribed when nobody else waits on it). */
  done(): void {
    this.#c.waiters.delete(this.#mark);
    this.#owner.drop(this.#channel, this.#c);
  }
}
