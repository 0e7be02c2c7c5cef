/**
 * The engine under `Pool` and the executors: a queue of tasks, a set of workers, and the rules
 * that move tasks between them.
 *
 * - **Batching.** Tasks wait in one FIFO queue and leave it in batches, one message per batch.
 *   The batch size follows the measured time per task (workers report how long they were busy):
 *   about `TARGET_BATCH_US` of work per batch, at most `MAX_BATCH` tasks, and never more than a
 *   fair share of the queue. A fresh pool sends one task per batch until it has measured, tasks
 *   longer than ~1 ms always travel alone, and each worker holds at most two batches (one running,
 *   one waiting), so a long task is never stuck behind a busy worker while another is free.
 * - **Cancellation.** A queued task is withdrawn. A running one gets an `abort` message (its
 *   `currentTask().signal` fires); if it has not ended `cancelGraceMs` later, its worker is killed
 *   and replaced. A task with `timeoutMs` runs alone on a worker, so its clock starts when it starts.
 * - **Death.** Workers run their tasks one at a time in the order sent and send results in that
 *   order, batch by batch. When a worker dies, the tasks of the batch it was running that have no
 *   result are rejected with a `WorkerDiedError`; later batches it held had not started and go back
 *   to the front of the queue. The pool starts a replacement when there is work.
 */
import { InvalidStateError, TimeoutError, WorkerDiedError } from '../errors.ts';
import { decode, decodeAsync } from '../internal/codec.ts';
import type { ExportRef } from '../internal/target.ts';
import { CancelledError } from '../errors.ts';
import { Future, kAbort, kRunning, kSettle, kWithdraw } from './future.ts';
import { RESULT_STRIDE, Status, type FromPoolWorker } from './protocol.ts';
import { startWorker, type WorkerHandle, type WorkerKind } from './worker-handle.ts';
import { TRACING, traceTaskQueued } from '../trace/hooks.ts';

/** Work per batch the pool aims for, in microseconds of the workers' time. */
const TARGET_BATCH_US = 1000;
/** The most tasks in one message. */
const MAX_BATCH = 1024;
/** Batches a worker holds at once: one running, one waiting, so it never idles for a round trip. */
const BATCHES_PER_WORKER = 2;
/** Workers that die before they are ready, in a row, before the pool gives up. */
const MAX_BOOT_FAILURES = 3;

export interface DispatcherOptions {
  kind: WorkerKind;
  name: string;
  maxWorkers: number;
  minWorkers: number;
  idleTimeoutMs: number;
  maxTasksPerWorker: number;
  cancelGraceMs: number;
  initializer?: ExportRef;
  /** Encoded with the codec. */
  initargs?: unknown;
}

export interface PoolStats {
  /** Workers alive now, booting ones included. */
  workers: number;
  /** Workers holding tasks now. */
  busy: number;
  /** Tasks waiting for a worker. */
  queued: number;
  /** Workers started since the pool was created (replacements included). */
  started: number;
}

const QUEUED = 0;
const SENT = 1;
const DONE = 2;

/**
 * A task as the dispatcher tracks it. It is the very `Future` the caller holds (one object per
 * task instead of two: with 100 000 tiny tasks in flight, the garbage collector notices).
 */
export class Task extends Future<any> {
  state = QUEUED;
  worker: Slot | undefined = undefined;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  readonly pool: Dispatcher;
  readonly id: number;
  /** Index of the function in the pool's list (each worker learns the list as it goes). */
  readonly fn: number;
  readonly mode: number;
  readonly payload: unknown;
  /** 0: no time limit. */
  readonly timeoutMs: number;

  constructor(pool: Dispatcher, id: number, fn: number, mode: number, payload: unknown, timeoutMs: number) {
    super();
    this.pool = pool;
    this.id = id;
    this.fn = fn;
    this.mode = mode;
    this.payload = payload;
    this.timeoutMs = timeoutMs;
  }

  override [kWithdraw](): boolean {
    return this.pool.withdraw(this);
  }

  override [kAbort](): void {
    this.pool.abortRunning(this, 'cancel');
  }
}

class Slot {
  readonly handle: WorkerHandle;
  ready = false;
  dead = false;
  /** Takes no more tasks: it is being retired or killed. */
  retiring = false;
  /** Runs a task with a time-out, alone. */
  exclusive = false;
  /** Tasks sent and not reported, in the order sent (= the order they run and report). */
  readonly inflight: Task[] = [];
  head = 0;
  /** Sizes of the batches in flight, oldest first, less what has been reported of the first. */
  readonly batches: number[] = [];
  knownFns = 0;
  used = 0;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  killReason: string | undefined;
  readonly exited: Promise<void>;
  #resolveExited!: () => void;

  constructor(pool: Dispatcher, kind: WorkerKind) {
    this.exited = new Promise((resolve) => (this.#resolveExited = resolve));
    this.handle = startWorker(kind, {
      message: (message) => pool.onMessage(this, message),
      exit: (description) => {
        pool.onExit(this, description);
        this.#resolveExited();
      },
    });
  }

  get pending(): number {
    return this.inflight.length - this.head;
  }
}

export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #workers = new Set<Slot>();
  #queue: Task[] = [];
  #queueHead = 0;
  #queued = 0;
  /** Tasks not yet reported by a worker (queued or sent). */
  #outstanding = 0;
  #nextId = 1;
  /** By the ref object (`resolveExport` hands out one per function), then by module#name. */
  readonly #fnIndex = new Map<ExportRef, number>();
  readonly #fnByName = new Map<string, number>();
  readonly #fns: ExportRef[] = [];
  #flushScheduled = false;
  #avgUs = -1;
  #started = 0;
  #bootFailures = 0;
  #closed = false;
  #stopping = false;
  #broken: Error | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#ensureMinimum();
  }

  get closed(): boolean {
    return this.#closed;
  }

  stats(): PoolStats {
    let busy = 0;
    for (const w of this.#workers) if (w.pending > 0) busy++;
    return { workers: this.#workers.size, busy, queued: this.#queued, started: this.#started };
  }

  /** Queues a task; its future settles with the decoded outcome. Throws once the pool is closed. */
  submit(fn: ExportRef, mode: number, payload: unknown, timeoutMs = 0): Task {
    if (this.#closed) throw new InvalidStateError('Cannot submit a task after the pool was closed or shut down.');
    let index = this.#fnIndex.get(fn);
    if (index === undefined) index = this.#register(fn);
    const task = new Task(this, this.#nextId++, index, mode, payload, timeoutMs);
    if (this.#broken) {
      task.state = DONE;
      task[kSettle](false, this.#broken);
      return task;
    }
    this.#queue.push(task);
    if (TRACING) traceTaskQueued(task.id);
    this.#queued++;
    this.#outstanding++;
    this.#scheduleFlush();
    return task;
  }

  #register(fn: ExportRef): number {
    const key = `${fn.url}#${fn.exportName}`;
    let index = this.#fnByName.get(key);
    if (index === undefined) {
      index = this.#fns.length;
      this.#fns.push(fn);
      this.#fnByName.set(key, index);
    }
    this.#fnIndex.set(fn, index);
    return index;
  }

  /** Takes a queued task out of the queue; false when it already left it. */
  withdraw(task: Task): boolean {
    if (task.state !== QUEUED) return false;
    task.state = DONE; // left in the array; the dispatch loop skips it
    this.#queued--;
    this.#outstanding--;
    this.#taskGone();
    return true;
  }

  /** Signals a running task to stop and kills its worker when it does not within the grace period. */
  abortRunning(task: Task, why: 'cancel' | 'timeout'): void {
    const slot = task.worker;
    if (task.state !== SENT || !slot || slot.dead) return;
    slot.handle.send({ t: 'abort', id: task.id, why });
    clearTimeout(task.timer);
    const grace = () => {
      if (task.state !== SENT || slot.dead) return;
      // Still behind other tasks of its worker: it has not started, and the worker will skip it.
      if (slot.inflight[slot.head] !== task) return void (task.timer = setTimeout(grace, this.#options.cancelGraceMs));
      slot.killReason =
        why === 'timeout'
          ? `its task ${task.id} ran past its timeoutMs and did not stop within cancelGraceMs (${this.#options.cancelGraceMs} ms) of its signal`
          : `its task ${task.id} was cancelled and did not stop within cancelGraceMs (${this.#options.cancelGraceMs} ms) of its signal`;
      this.#kill(slot);
    };
    task.timer = setTimeout(grace, this.#options.cancelGraceMs);
  }

  /** Cancels every queued task with `reason`. */
  cancelQueued(reason: string): void {
    for (let i = this.#queueHead; i < this.#queue.length; i++) {
      const task = this.#queue[i]!;
      if (task.state === QUEUED && this.withdraw(task)) task[kSettle](false, new CancelledError(reason), true);
    }
  }

  /** No more tasks (Python's `close()`); queued and running ones go on. */
  close(): void {
    this.#closed = true;
    for (const w of this.#workers) this.#maybeRelease(w);
  }

  /** Waits until every submitted task has been reported, then stops the workers and waits for them to exit. */
  async join(): Promise<void> {
    if (!this.#closed) throw new InvalidStateError('Call close() (or shutdown()) before join(), as in Python.');
    if (this.#outstanding > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    await this.#stopAll();
  }

  /** Stops the workers now; tasks not finished are cancelled (`CancelledError`). */
  async terminate(): Promise<void> {
    this.#closed = true;
    this.cancelQueued('The pool was terminated before the task started.');
    for (const w of this.#workers) {
      for (let i = w.head; i < w.inflight.length; i++) w.inflight[i]![kSettle](false, new CancelledError('The pool was terminated while the task ran.'), true);
    }
    await this.#stopAll();
  }

  async #stopAll(): Promise<void> {
    this.#stopping = true;
    const exits: Promise<void>[] = [];
    for (const w of this.#workers) {
      exits.push(w.exited);
      w.handle.ref(); // whoever awaits this waits for the exit, so the program must not end first
      this.#kill(w);
    }
    await Promise.all(exits);
  }

  // ---- worker events -------------------------------------------------------------------------

  onMessage(slot: Slot, message: FromPoolWorker): void {
    switch (message.t) {
      case 'results':
        this.#onResults(slot, message.r, message.us);
        break;
      case 'ready':
        slot.ready = true;
        slot.handle.unref(); // ref'd again when it gets tasks
        this.#bootFailures = 0;
        this.#flush();
        break;
      case 'init-failed': {
        const cause = decodeSettled(message.error);
        this.#breakPool(
          new WorkerDiedError(`The pool's initializer failed in a new worker, so the pool cannot run tasks: ${(cause as Error)?.message ?? cause}`, { cause }),
        );
        break;
      }
    }
  }

  onExit(slot: Slot, description: string): void {
    slot.dead = true;
    this.#workers.delete(slot);
    clearTimeout(slot.idleTimer);
    if (!slot.ready && !slot.killReason && !this.#stopping) {
      if (++this.#bootFailures >= MAX_BOOT_FAILURES)
        this.#breakPool(new WorkerDiedError(`${MAX_BOOT_FAILURES} workers in a row died before they were ready (last: ${description}).`));
    }
    const why = slot.killReason ?? description;
    // The batch it was running: its tasks without a result were running or may have been.
    let first = slot.batches[0] ?? 0;
    const requeue: Task[] = [];
    for (let i = slot.head; i < slot.inflight.length; i++) {
      const task = slot.inflight[i]!;
      clearTimeout(task.timer);
      task.worker = undefined;
      if (first > 0 || this.#stopping || this.#broken) {
        first--;
        task.state = DONE;
        this.#outstanding--;
        task[kSettle](false, new WorkerDiedError(`The worker running task ${task.id} died: ${why}.`));
      } else {
        task.state = QUEUED;
        task[kRunning](false);
        requeue.push(task);
      }
    }
    slot.inflight.length = 0;
    slot.head = 0;
    if (requeue.length > 0) {
      this.#queue.splice(this.#queueHead, 0, ...requeue);
      this.#queued += requeue.length;
    }
    this.#taskGone();
    if (!this.#stopping) {
      this.#ensureMinimum();
      this.#scheduleFlush();
    }
  }

  #onResults(slot: Slot, r: unknown[], us: number): void {
    const n = r.length / RESULT_STRIDE;
    if (n > 0) {
      const sample = us / n;
      this.#avgUs = this.#avgUs < 0 ? sample : this.#avgUs * 0.7 + sample * 0.3;
    }
    const inflight = slot.inflight;
    for (let i = 0; i < r.length; i += RESULT_STRIDE) {
      const task = inflight[slot.head]!;
      inflight[slot.head++] = undefined as unknown as Task;
      if (task.id !== r[i]) throw new Error(`threadkit: pool protocol out of step (expected task ${task.id}, got ${String(r[i])})`);
      if (--slot.batches[0]! === 0) slot.batches.shift();
      task.state = DONE;
      task.worker = undefined;
      if (task.timer !== undefined) clearTimeout(task.timer);
      if (task.timeoutMs > 0) slot.exclusive = false;
      this.#outstanding--;
      const status = r[i + 1] as number;
      const value = r[i + 2];
      if (status === Status.OK) task[kSettle](true, value);
      else if (status === Status.SKIPPED) task[kSettle](false, new CancelledError('The task was cancelled before it started.'), true);
      else settleDecoded(task, status === (Status.OK | Status.ENCODED), value);
    }
    if (slot.head === inflight.length) {
      inflight.length = 0;
      slot.head = 0;
      this.#maybeRelease(slot);
    } else if (slot.head > 4096) {
      inflight.splice(0, slot.head);
      slot.head = 0;
    }
    this.#taskGone();
    this.#flush();
  }

  // ---- dispatch ------------------------------------------------------------------------------

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Tasks submitted in the same tick leave together.
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#stopping || this.#broken) return;
    this.#spawnForQueue();
    if (this.#queued === 0) return;
    let takers = 0;
    for (const w of this.#workers) if (this.#canTake(w)) takers++;
    if (takers === 0) return;
    const window = this.#window();
    for (let pass = 0; pass < BATCHES_PER_WORKER && this.#queued > 0; pass++) {
      for (const w of this.#workers) {
        if (this.#queued === 0) break;
        if (w.batches.length !== pass || !this.#canTake(w)) continue;
        this.#sendBatch(w, Math.min(window, Math.ceil(this.#queued / takers)));
      }
    }
  }

  #canTake(w: Slot): boolean {
    return w.ready && !w.retiring && !w.exclusive && w.batches.length < this.#depth();
  }

  /**
   * Batches a worker may hold. A second one hides the round trip for tiny tasks; for tasks of
   * unknown or long duration it would only strand a task behind a busy worker while another idles.
   */
  #depth(): number {
    return this.#avgUs >= 0 && this.#avgUs < TARGET_BATCH_US / 4 ? BATCHES_PER_WORKER : 1;
  }

  #window(): number {
    if (this.#avgUs < 0) return 1;
    return Math.max(1, Math.min(MAX_BATCH, Math.floor(TARGET_BATCH_US / Math.max(this.#avgUs, 0.01))));
  }

  /** Starts workers while the queue holds more tasks than idle or booting workers can take, up to `maxWorkers`. */
  #spawnForQueue(): void {
    if (this.#queued === 0) return;
    let free = 0;
    for (const w of this.#workers) if (!w.ready || (w.pending === 0 && !w.retiring)) free++;
    while (free < this.#queued && this.#workers.size < this.#options.maxWorkers) {
      this.#spawn();
      free++;
    }
    // A worker still booting holds the program open while tasks wait for it.
    for (const w of this.#workers) if (!w.ready) w.handle.ref();
  }

  #sendBatch(w: Slot, size: number): void {
    const quota = this.#options.maxTasksPerWorker - w.used;
    size = Math.min(size, quota);
    const b: unknown[] = [];
    let maxFn = -1;
    let n = 0;
    const queue = this.#queue;
    while (n < size && this.#queueHead < queue.length) {
      const task = queue[this.#queueHead]!;
      if (task.state !== QUEUED) {
        this.#queueHead++;
        continue;
      }
      if (task.timeoutMs > 0) {
        // Runs alone on an idle worker, so its clock starts when it starts.
        if (n > 0 || w.pending > 0) break;
        w.exclusive = true;
        task.timer = setTimeout(() => this.#timedOut(task), task.timeoutMs);
      }
      this.#queueHead++;
      b.push(task.id, task.fn, task.mode, task.payload);
      if (task.fn > maxFn) maxFn = task.fn;
      task.state = SENT;
      task.worker = w;
      w.inflight.push(task);
      task[kRunning](true);
      n++;
      if (w.exclusive) break;
    }
    if (this.#queueHead > 1024 && this.#queueHead * 2 > queue.length) {
      this.#queue = queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    if (n === 0) return;
    this.#queued -= n;
    w.used += n;
    w.batches.push(n);
    clearTimeout(w.idleTimer);
    if (w.pending === n) w.handle.ref();
    if (w.used >= this.#options.maxTasksPerWorker) w.retiring = true;
    if (maxFn >= w.knownFns) {
      w.handle.send({ t: 'run', fns: this.#fns.slice(w.knownFns, maxFn + 1), b });
      w.knownFns = maxFn + 1;
    } else {
      w.handle.send({ t: 'run', b });
    }
  }

  #timedOut(task: Task): void {
    if (task.state !== SENT) return;
    task[kSettle](
      false,
      new TimeoutError(`Task ${task.id} ran past its timeoutMs (${task.timeoutMs} ms); its worker was signalled and is replaced if it does not stop.`),
    );
    this.abortRunning(task, 'timeout');
  }

  // ---- workers -------------------------------------------------------------------------------

  #spawn(): Slot {
    const slot = new Slot(this, this.#options.kind);
    this.#workers.add(slot);
    this.#started++;
    const message = {
      t: 'init' as const,
      name: `${this.#options.name}-Worker-${this.#started}`,
      initializer: this.#options.initializer,
      initargs: this.#options.initargs,
    };
    slot.handle.send(message);
    return slot;
  }

  #ensureMinimum(): void {
    if (this.#closed || this.#broken) return;
    while (this.#workers.size < this.#options.minWorkers) this.#spawn();
  }

  #kill(slot: Slot): void {
    if (slot.dead) return;
    slot.retiring = true;
    slot.killReason ??= 'it was stopped by the pool';
    slot.handle.kill();
  }

  /** An idle worker: unref it, retire it when used up, idle too long, or the pool is closed and empty. */
  #maybeRelease(slot: Slot): void {
    if (slot.pending > 0 || slot.dead) return;
    slot.exclusive = false;
    slot.handle.unref();
    if (slot.retiring) {
      slot.killReason ??= `it ran its maxTasksPerWorker (${this.#options.maxTasksPerWorker}) tasks`;
      this.#kill(slot);
      return;
    }
    const { idleTimeoutMs, minWorkers } = this.#options;
    if (Number.isFinite(idleTimeoutMs) && this.#workers.size > minWorkers) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = setTimeout(() => {
        if (slot.pending === 0 && this.#workers.size > minWorkers) {
          slot.killReason = 'it was idle for idleTimeoutMs';
          this.#kill(slot);
        }
      }, idleTimeoutMs);
      slot.idleTimer.unref();
    }
  }

  #breakPool(error: Error): void {
    if (this.#broken) return;
    this.#broken = error;
    for (let i = this.#queueHead; i < this.#queue.length; i++) {
      const task = this.#queue[i]!;
      if (task.state === QUEUED && this.withdraw(task)) task[kSettle](false, error);
    }
    for (const w of this.#workers) this.#kill(w);
  }

  #taskGone(): void {
    if (this.#outstanding !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Decodes an outcome that went through the codec: synchronously unless it names classes to import. */
function settleDecoded(future: Future<any>, ok: boolean, value: unknown): void {
  let decoded: unknown;
  try {
    decoded = decode(value);
  } catch {
    decodeAsync(value).then(
      (v) => future[kSettle](ok, v),
      (err: unknown) => future[kSettle](false, err),
    );
    return;
  }
  future[kSettle](ok, decoded);
}

function decodeSettled(value: unknown): unknown {
  try {
    return decode(value);
  } catch (err) {
    return err;
  }
}
