/**
 * A set of workers (threads or processes) and their lifecycle: boot, ready, stop, exit. Both the
 * thread scheduler's carriers (src/thread/scheduler.ts) and every pool's workers
 * (src/pool/dispatcher.ts) live in one; what a worker runs, and when it is free for more, is
 * its owner's business (piscina's `worker_pool/`; Python's pools keep the same bookkeeping in
 * `Pool._pool` and `ProcessPoolExecutor._processes`).
 *
 * A worker's {@link WorkerState}:
 *
 *     booting ──ready()──▶ ready ──stop()──▶ stopping ──(exit)──▶ exited
 *        └────────────────stop()─────────────────▲   (an unexpected exit from any state)
 *
 * A worker stays in the set until it has exited, stopping ones included (they still hold a
 * thread or a process); `stopReason` is set exactly when its owner stopped it, so an exit
 * without one is a death. When a worker exits the set calls the owner's `onExit`, then resolves
 * the worker's `exited`.
 */
import type { WorkerEvents, WorkerExit, WorkerHandle } from './worker-handle.ts';

export type WorkerState = 'booting' | 'ready' | 'stopping' | 'exited';

/** One worker of a set. Owners extend it with what they track per worker (the Threads a carrier runs, a pool worker's tasks). */
export class ManagedWorker<ToWorker = unknown> {
  readonly handle: WorkerHandle<ToWorker>;
  state: WorkerState = 'booting';
  /** It said it was ready at least once (a worker that dies without, died booting). */
  booted = false;
  /** Why its owner stopped it (for the errors of what it was running); undefined unless stopped. */
  stopReason: string | undefined;
  /** Set by {@link WorkerSet.stopWhenIdle}. */
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Resolves once it has exited and its owner has heard of it. */
  readonly exited: Promise<void>;
  /** @internal */
  resolveExited!: () => void;

  constructor(handle: WorkerHandle<ToWorker>) {
    this.handle = handle;
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
  }
}

export interface WorkerSetOptions<W extends ManagedWorker<any>, FromWorker, BootOptions> {
  /** Starts one worker's thread or process, with what {@link WorkerSet.boot} was given; the set routes its events. */
  start(events: WorkerEvents<FromWorker>, options: BootOptions): W['handle'];
  /** Wraps a new handle in the owner's worker class. */
  create(handle: W['handle']): W;
  onMessage(worker: W, message: FromWorker): void;
  /** The worker has exited and left the set. Its `stopReason` is undefined when nobody stopped it: it died. */
  onExit(worker: W, exit: WorkerExit): void;
}

export class WorkerSet<W extends ManagedWorker<any>, FromWorker = unknown, BootOptions = undefined> implements Iterable<W> {
  readonly #workers = new Set<W>();
  readonly #options: WorkerSetOptions<W, FromWorker, BootOptions>;
  #started = 0;

  constructor(options: WorkerSetOptions<W, FromWorker, BootOptions>) {
    this.#options = options;
  }

  /** Workers not exited yet: booting, ready and stopping. */
  get size(): number {
    return this.#workers.size;
  }

  /** Workers booted since the set was made (replacements included). */
  get started(): number {
    return this.#started;
  }

  [Symbol.iterator](): Iterator<W> {
    return this.#workers[Symbol.iterator]();
  }

  /** How many workers are in `state`. */
  count(state: WorkerState): number {
    let n = 0;
    for (const w of this.#workers) if (w.state === state) n++;
    return n;
  }

  /** Starts a new worker (`options` go to the set's `start`); it is `booting` until its owner calls {@link ready}. */
  boot(options: BootOptions): W {
    let worker: W | undefined;
    // Events come asynchronously, never before `worker` is assigned.
    const handle = this.#options.start(
      {
        message: (message) => this.#options.onMessage(worker!, message),
        exit: (exit) => this.#exited(worker!, exit),
      },
      options,
    );
    worker = this.#options.create(handle);
    this.#workers.add(worker);
    this.#started++;
    return worker;
  }

  /** The worker said it is ready. True when it was booting (its first time); false when ready, stopping or exited already. */
  ready(worker: W): boolean {
    if (worker.state !== 'booting') return false;
    worker.state = 'ready';
    worker.booted = true;
    return true;
  }

  /** Stops a worker now (it stays in the set until it has exited). The first reason given is kept. */
  stop(worker: W, reason: string): void {
    if (worker.state === 'exited') return;
    worker.stopReason ??= reason;
    worker.state = 'stopping';
    clearTimeout(worker.idleTimer);
    worker.handle.kill();
  }

  /** Stops the worker after `ms` unless it is no longer idle by then (`stillIdle()`); a later call replaces the timer. */
  stopWhenIdle(worker: W, ms: number, stillIdle: () => boolean, reason: string): void {
    clearTimeout(worker.idleTimer);
    worker.idleTimer = setTimeout(() => {
      if (worker.state !== 'stopping' && worker.state !== 'exited' && stillIdle()) this.stop(worker, reason);
    }, ms);
    worker.idleTimer.unref();
  }

  /** Cancels a {@link stopWhenIdle}: the worker has work again. */
  keep(worker: W): void {
    clearTimeout(worker.idleTimer);
    worker.idleTimer = undefined;
  }

  /**
   * Stops every worker and resolves once all have exited. Whoever awaits this waits for the
   * exits: a timer holds the event loop open until the last one, because a worker being
   * terminated may stop holding it before its exit is reported, and a top-level
   * `await pool.terminate()` would then end the program with "unsettled top-level await".
   */
  async stopAll(reason: string): Promise<void> {
    const exits: Promise<void>[] = [];
    for (const w of this.#workers) {
      exits.push(w.exited);
      w.handle.ref();
      this.stop(w, reason);
    }
    if (exits.length === 0) return;
    const holdOpen = setInterval(() => {}, 1 << 30);
    try {
      await Promise.all(exits);
    } finally {
      clearInterval(holdOpen);
    }
  }

  #exited(worker: W, exit: WorkerExit): void {
    worker.state = 'exited';
    this.#workers.delete(worker);
    clearTimeout(worker.idleTimer);
    try {
      this.#options.onExit(worker, exit);
    } finally {
      worker.resolveExited();
    }
  }
}
