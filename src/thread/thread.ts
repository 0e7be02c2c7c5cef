/**
 * `Thread`: runs a target on a worker thread (Python's `threading.Thread`), sharing memory with
 * this one through threadkit's primitives (`Lock`, `Value`, …) and `SharedArrayBuffer`s.
 *
 * ```ts
 * export async function deposit(account: Account, money: number) { … }
 * const t = new Thread({ target: deposit, args: [account, 1] });
 * t.start();
 * await t.join();
 * ```
 * Threads run on warm carrier worker threads: an async target shares its carrier with other
 * Threads while it awaits (as virtual threads share carrier threads), a target that blocks
 * synchronously gets a carrier to itself. See scheduler.ts.
 */
import { decodeAsync, type Destination } from '../internal/codec.ts';
import type { RunPlan } from '../internal/run-messages.ts';
import { Runnable, type AnyFunction, type RunnableOptions } from '../internal/runnable.ts';
import { formatUncaught } from '../internal/execute.ts';
import { getScheduler, type RunHandle } from './scheduler.ts';

let counter = 0;
let nextIdent = 1;

export type ThreadOptions<F extends AnyFunction = AnyFunction> = RunnableOptions<F>;

export class Thread<F extends AnyFunction = AnyFunction> extends Runnable<F> {
  #handle: RunHandle | undefined;
  #threadId: number | undefined;
  #ident: number | undefined;

  constructor(options: ThreadOptions<F> = {}) {
    super(options, `Thread-${++counter}`);
  }

  /** Unique among this process's Threads once started (Python's `ident`). */
  get ident(): number | undefined {
    return this.#ident;
  }

  /** The worker thread running it, once it runs (`worker_threads.threadId`; Python's `native_id`). */
  get threadId(): number | undefined {
    return this.#threadId;
  }

  protected get kindName(): string {
    return 'Thread';
  }

  protected get destination(): Destination {
    return 'thread';
  }

  protected override beforePlan(): void {
    getScheduler().prepare(this.exclusive);
  }

  protected launch(plan: RunPlan): void {
    const id = nextIdent++;
    this.#ident = id;
    const settle = (exitCode: number, outcome: { error?: unknown; result?: unknown }) => {
      if (outcome.error !== undefined && exitCode === 1) process.stderr.write(formatUncaught(`Exception in thread ${this.name}:`, outcome.error));
      this.finish(exitCode, outcome);
    };
    this.#handle = {
      id,
      plan,
      onDispatched: (threadId) => (this.#threadId = threadId),
      onMessage: (data) => this.emit('message', data),
      onDone: (ok, payload, exitCode) => {
        decodeAsync(payload).then(
          (value) => settle(ok ? (exitCode ?? 0) : 1, ok ? { result: value } : { error: value }),
          (err: unknown) => settle(1, { error: err }),
        );
      },
      onDied: (error) => settle(1, { error }),
    };
    getScheduler().submit(this.#handle);
  }

  /**
   * Stops the Thread: its `currentThread().signal` is aborted and, when it has its worker thread
   * to itself, the worker is terminated. `exitCode` becomes -15. Python has no such method; a
   * Thread that shares its worker stops only when its target heeds the signal.
   */
  terminate(): void {
    this.#stop(-15);
  }

  /** As `terminate()`, with `exitCode` -9. */
  kill(): void {
    this.#stop(-9);
  }

  #stop(exitCode: number): void {
    const handle = this.#handle;
    if (!handle || !this.isAlive()) return;
    const scheduler = getScheduler();
    if (!scheduler.withdraw(handle)) {
      const carrier = scheduler.carrierOf(handle);
      if (carrier && !scheduler.terminateAlone(handle)) scheduler.cancel(handle, carrier);
    }
    this.finish(exitCode);
  }
}
