/**
 * The engine under `Pool` and the executors: it moves tasks from the task queue (task-queue.ts)
 * to a set of workers (a worker set, src/workers/worker-set.ts, of pool-worker.ts) in batches
 * (batching.ts), and their results back to the tasks' futures.
 *
 * - **Lifecycle.** A {@link PoolState}: `open` takes tasks; `closed` takes no more, queued and
 *   running ones go on (`close()`); `stopping`: the workers are being stopped (`join()` after the
 *   last result, or `terminate()`), nothing is dispatched or replaced any more. Python's pool
 *   states RUN, CLOSE, TERMINATE. Apart from that a pool may be broken (its initializer failed,
 *   or its workers kept dying at boot; Python's `BrokenProcessPool`): every task then fails.
 * - **Batching.** Tasks wait in one FIFO queue and leave it in batches, one message per batch,
 *   sized by the measured time per task of each function (batching.ts) and never more than a
 *   fair share of the queue, worked out once per dispatch so that the shares are even. Each
 *   worker holds at most two batches (one running, one waiting), the second only when both are
 *   of tiny tasks, so a long task is never stuck behind a busy worker while another is free.
 * - **Cancellation.** A queued task is withdrawn. A running one gets an `abort` message (its
 *   `currentTask().signal` fires); if it has not ended `cancelGraceMs` later, its worker is killed
 *   and replaced. A task with `timeoutMs` runs alone on a worker, so its clock starts when it starts.
 * - **Death.** Workers run their tasks one at a time in the order sent and send results in that
 *   order, batch by batch. Before each task a worker notes in its journal (task-journal.ts, shared
 *   memory that outlives it) which task that is and the results it has not sent. When a worker
 *   dies, the results it noted are reported as if they had come, the task it was in is rejected
 *   with a `WorkerDiedError`, and the tasks it had not started go back to the front of the queue.
 *   (A child process without /dev/shm has no journal: every task of its running batch without a
 *   result is rejected, as one that may have run.) The pool starts a replacement when there is work.
 */
import { CancelledError, InvalidStateError, NotCloneableError, TimeoutError, WorkerDiedError } from '../errors.ts';
import { decode, decodeMaybeAsync } from '../internal/codec.ts';
import type { ExportRef } from '../internal/target.ts';
import { TRACING, traceTaskQueued } from '../trace/hooks.ts';
import type { WorkerExit, WorkerKind } from '../workers/worker-handle.ts';
import { WorkerSet } from '../workers/worker-set.ts';
import { BATCHES_PER_WORKER, BatchPolicy } from './batching.ts';
import { FunctionTable } from './function-table.ts';
import { kRunning, kSettle, type Future } from './future.ts';
import { PoolWorker, startPoolWorker } from './pool-worker.ts';
import { Task } from './task.ts';
import type { JournalContents } from './task-journal.ts';
import { TaskQueue } from './task-queue.ts';
import { HANDOFF_BATCH_TASKS, HANDOFF_SPIN_MS, RESULT_STRIDE, Status, type FromPoolWorker, type ToPoolWorker } from './worker-messages.ts';

/**
 * After sending a small batch (HANDOFF_BATCH_TASKS) of tasks measured at under this many µs each
 * to an otherwise idle pool, this thread watches the worker's hand-off slot (handoff.ts) for up
 * to HANDOFF_SPIN_MS before it returns to its event loop: the worker answers such a batch in
 * ~5 µs, and a core left idle meanwhile costs 30-60 µs to wake. A lone plain result comes
 * through the slot itself; others come as a message, and the watch ends when the worker rings
 * that it sent one. It never runs while tasks queue.
 */
const RESULT_SPIN_TASK_US = 10;
/**
 * The same watch after the task went as a message because the worker was not watching its slot:
 * it has to wake first, which takes 30-100 µs. An answer within this window comes through the
 * slot, and the worker, watching again after it, takes the next task through the slot too.
 */
const WAKE_SPIN_MS = 0.25;
/**
 * A spin that ends without the ring means the worker could not run meanwhile: most often it
 * shares this core, which the spin then only withholds from it (112 µs a round trip instead of
 * 11, measured with everything on one core). After each such miss the pool skips twice as many
 * chances to spin as after the last one, up to this many (so on one core about 1 round trip in
 * 17 pays for a spin); a ring in time resets it. A higher cap made the sporadic misses of a
 * loaded machine (another process taking the worker's core) cost hundreds of spins that pay.
 */
const RESULT_SPIN_MAX_SKIP = 16;

/**
 * A result taken from a hand-off slot (handoff.ts) settles its future at once, so a caller that
 * awaits one task at a time runs on in microtasks and this thread's event loop would never turn
 * (no timer, no I/O) for as long as the tasks keep coming. After this many in a row the next
 * one is reported from an immediate, after the loop has turned.
 */
const MAX_HANDOFFS_PER_TURN = 64;

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

/** Python's pool states RUN, CLOSE, TERMINATE; see the file's opening comment. */
export type PoolState = 'open' | 'closed' | 'stopping';

export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #workers: WorkerSet<PoolWorker, FromPoolWorker>;
  readonly #queue = new TaskQueue();
  readonly #batching = new BatchPolicy();
  readonly #functions = new FunctionTable();
  #state: PoolState = 'open';
  /** Why every task fails, once the pool is broken. */
  #broken: Error | undefined;
  /** Tasks not yet reported by a worker (queued or sent). */
  #outstanding = 0;
  #nextId = 1;
  #flushScheduled = false;
  /** Chances to spin for results still to skip, and how many the last miss earned (RESULT_SPIN_MAX_SKIP). */
  #spinSkip = 0;
  #spinBackoff = 0;
  /** `#dispatch` opened a worker's result area (`PoolWorker.resultsOpen`) that `#awaitQuickResults` has yet to close. */
  #resultsOpened = false;
  /** `#awaitQuickResults` is running: a result it takes may dispatch again, and that flush only closes what it opened. */
  #watching = false;
  /** Results taken from a hand-off slot since this thread's event loop last turned (MAX_HANDOFFS_PER_TURN), roughly: it is reset by an immediate. */
  #handoffs = 0;
  #bootFailures = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#workers = new WorkerSet({
      start: (events) => startPoolWorker(options.kind, events),
      create: (handle) => new PoolWorker(handle),
      onMessage: (worker, message) => this.#onMessage(worker, message),
      onExit: (worker, exit) => this.#onExit(worker, exit),
    });
    this.#ensureMinimum();
  }

  get state(): PoolState {
    return this.#state;
  }

  /** No more tasks are taken (`close()`, `terminate()` or `join()` was called). */
  get closed(): boolean {
    return this.#state !== 'open';
  }

  stats(): PoolStats {
    let busy = 0;
    for (const w of this.#workers) if (w.pending > 0) busy++;
    return { workers: this.#workers.size, busy, queued: this.#queue.size, started: this.#workers.started };
  }

  /** Queues a task; its future settles with the decoded outcome. Throws once the pool is closed. `alone`: see `Task.alone`. */
  submit(fn: ExportRef, mode: number, payload: unknown, timeoutMs = 0, alone = false): Task {
    if (this.#state !== 'open') throw new InvalidStateError('Cannot submit a task after the pool was closed or shut down.');
    const task = new Task(this, this.#nextId++, this.#functions.indexOf(fn), mode, payload, timeoutMs, alone);
    if (this.#broken) {
      task.state = 'done';
      task[kSettle](false, this.#broken);
      return task;
    }
    this.#queue.push(task);
    if (TRACING) traceTaskQueued(task.id);
    this.#outstanding++;
    this.#scheduleFlush();
    return task;
  }

  /** Takes a queued task out of the queue; false when it already left it. */
  withdraw(task: Task): boolean {
    if (task.state !== 'queued') return false;
    task.state = 'done'; // left in the queue's array; the queue skips it
    this.#queue.withdrawn();
    this.#outstanding--;
    this.#taskGone();
    return true;
  }

  /** Signals a running task to stop and kills its worker when it does not within the grace period. */
  abortRunning(task: Task, why: 'cancel' | 'timeout'): void {
    const worker = task.worker;
    if (task.state !== 'sent' || !worker || worker.state === 'exited') return;
    worker.handle.send({ type: 'abort', id: task.id, why });
    clearTimeout(task.timer);
    const grace = () => {
      if (task.state !== 'sent' || worker.state === 'exited') return;
      // Still behind other tasks of its worker: it has not started, and the worker will skip it.
      if (worker.inflight[worker.head] !== task) return void (task.timer = setTimeout(grace, this.#options.cancelGraceMs));
      worker.stopReason =
        why === 'timeout'
          ? `its task ${task.id} ran past its timeoutMs and did not stop within cancelGraceMs (${this.#options.cancelGraceMs} ms) of its signal`
          : `its task ${task.id} was cancelled and did not stop within cancelGraceMs (${this.#options.cancelGraceMs} ms) of its signal`;
      this.#stop(worker);
    };
    task.timer = setTimeout(grace, this.#options.cancelGraceMs);
  }

  /** Cancels every queued task with `reason`. */
  cancelQueued(reason: string): void {
    for (const task of this.#queue.queued()) if (this.withdraw(task)) task[kSettle](false, new CancelledError(reason), true);
  }

  /** No more tasks (Python's `close()`); queued and running ones go on. */
  close(): void {
    if (this.#state === 'open') this.#state = 'closed';
    for (const w of this.#workers) this.#maybeRelease(w);
  }

  /** Waits until every submitted task has been reported, then stops the workers and waits for them to exit. */
  async join(): Promise<void> {
    if (this.#state === 'open') throw new InvalidStateError('Call close() (or shutdown()) before join(), as in Python.');
    if (this.#outstanding > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    await this.#stopAll();
  }

  /** Stops the workers now; tasks not finished are cancelled (`CancelledError`). */
  async terminate(): Promise<void> {
    if (this.#state === 'open') this.#state = 'closed';
    this.cancelQueued('The pool was terminated before the task started.');
    for (const w of this.#workers) {
      for (let i = w.head; i < w.inflight.length; i++) w.inflight[i]![kSettle](false, new CancelledError('The pool was terminated while the task ran.'), true);
    }
    await this.#stopAll();
  }

  #stopAll(): Promise<void> {
    this.#state = 'stopping';
    for (const w of this.#workers) w.retiring = true;
    return this.#workers.stopAll('it was stopped by the pool');
  }

  // ---- worker events -------------------------------------------------------------------------

  #onMessage(worker: PoolWorker, message: FromPoolWorker): void {
    switch (message.type) {
      case 'results':
        // Results taken from the slot before this message came first. Only then may the worker
        // post a later one into the slot (RESULTS_READ), and the pool takes it no earlier than
        // the flush that ends `#onResults`.
        this.#reportDeferred(worker);
        worker.handoff?.resultsRead();
        this.#onResults(worker, message.r, message.us);
        break;
      case 'ready':
        this.#workers.ready(worker);
        worker.handle.unref(); // ref'd again when it gets tasks
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

  #onExit(worker: PoolWorker, exit: WorkerExit): void {
    this.#reportDeferred(worker);
    // Read before its memory goes to the next child.
    const journal = readJournal(worker);
    worker.releaseHandoff();
    if (!worker.booted && worker.stopReason === undefined && this.#state !== 'stopping') {
      if (++this.#bootFailures >= MAX_BOOT_FAILURES)
        this.#breakPool(new WorkerDiedError(`${MAX_BOOT_FAILURES} workers in a row died before they were ready (last: ${exit.description}).`));
    }
    const why = worker.stopReason ?? exit.description;
    // Results it noted and never sent are reported as if they had come. (Noted ones it did send,
    // had it died between the message and clearing its journal, belong to tasks it no longer holds.)
    if (journal && journal.r.length > 0 && journal.r[0] === worker.inflight[worker.head]?.id) this.#settleResults(worker, journal.r);
    // A worker runs its tasks in the order it was given them. Of the tasks left, the one it was
    // in had started, and so had every task before it: their results were sent but never came
    // (a child's message still queued in it when it died; the journal is cleared once a message
    // is posted). They fail, and are never run again. The tasks after it go back to the front
    // of the queue. Without a journal (a child without /dev/shm) any task of the batch it was
    // running may have run.
    let running = -1;
    if (journal) for (let i = worker.head; i < worker.inflight.length && running < 0; i++) if (worker.inflight[i]!.id === journal.running) running = i;
    let first = journal ? 0 : (worker.batches[0] ?? 0);
    const requeue: Task[] = [];
    for (let i = worker.head; i < worker.inflight.length; i++) {
      const task = worker.inflight[i]!;
      clearTimeout(task.timer);
      task.worker = undefined;
      const started = journal ? i <= running : first-- > 0;
      if (started || this.#state === 'stopping' || this.#broken) {
        task.state = 'done';
        this.#outstanding--;
        const what = !started
          ? `The worker holding task ${task.id} died before it started the task`
          : journal
            ? i < running
              ? `The worker that ran task ${task.id} died before the task's result reached the pool (the task ran)`
              : `The worker running task ${task.id} died`
            : `The worker holding task ${task.id} died before it reported the task, which may have run`;
        task[kSettle](false, new WorkerDiedError(`${what}: ${why}.`));
      } else {
        task.state = 'queued';
        task[kRunning](false);
        requeue.push(task);
      }
    }
    worker.inflight.length = 0;
    worker.head = 0;
    this.#queue.pushFront(requeue);
    this.#taskGone();
    if (this.#state !== 'stopping') {
      this.#ensureMinimum();
      this.#scheduleFlush();
    }
  }

  /** Reports the results a worker passed through its slot whose report waits for the event loop (MAX_HANDOFFS_PER_TURN); they come before any later one. */
  #reportDeferred(worker: PoolWorker): void {
    if (worker.deferred.length === 0) return;
    const deferred = worker.deferred.splice(0);
    for (const { r, us } of deferred) this.#onResults(worker, r, us);
  }

  #onResults(worker: PoolWorker, r: unknown[], us: number): void {
    this.#batching.record(worker.inflight, worker.head, r.length / RESULT_STRIDE, us);
    this.#settleResults(worker, r);
    const inflight = worker.inflight;
    worker.busySince = performance.now();
    if (worker.head === inflight.length) {
      inflight.length = 0;
      worker.head = 0;
      this.#maybeRelease(worker);
    } else if (worker.head > 4096) {
      inflight.splice(0, worker.head);
      worker.head = 0;
    }
    this.#taskGone();
    this.#flush();
  }

  /** Settles the futures of the tasks `r` reports (`[id, status, value, …]`): the next ones `worker` holds, in order. */
  #settleResults(worker: PoolWorker, r: unknown[]): void {
    const inflight = worker.inflight;
    for (let i = 0; i < r.length; i += RESULT_STRIDE) {
      const task = inflight[worker.head]!;
      inflight[worker.head++] = undefined as unknown as Task;
      if (task.id !== r[i]) throw new Error(`threadkit: pool protocol out of step (expected task ${task.id}, got ${String(r[i])})`);
      if (--worker.batches[0]! === 0) worker.batches.shift();
      task.state = 'done';
      task.worker = undefined;
      if (task.timer !== undefined) clearTimeout(task.timer);
      if (task.timeoutMs > 0) worker.exclusive = false;
      this.#outstanding--;
      const status = r[i + 1] as number;
      const value = r[i + 2];
      if (status === Status.OK) task[kSettle](true, value);
      else if (status === Status.SKIPPED) task[kSettle](false, new CancelledError('The task was cancelled before it started.'), true);
      else settleDecoded(task, status === (Status.OK | Status.ENCODED), value);
    }
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

  /** Sends what the queue holds to the workers that can take it, then looks for quick answers. */
  #flush(): void {
    this.#dispatch();
    this.#awaitQuickResults();
  }

  /**
   * Closes every result area `#dispatch` opened (handoff.ts), taking a result already posted in
   * it; the one worker holding all the pool's outstanding tasks, when they are a small batch of
   * tiny tasks (RESULT_SPIN_TASK_US), is watched first for up to HANDOFF_SPIN_MS.
   */
  #awaitQuickResults(): void {
    // Most flushes (each results message of a busy pool) open none: no loop over the workers.
    if (!this.#resultsOpened) return;
    this.#resultsOpened = false;
    const outer = !this.#watching;
    const target = outer ? this.#quickResultsFrom() : undefined;
    this.#watching = true;
    try {
      for (const w of this.#workers) {
        const h = w.handoff;
        if (!w.resultsOpen || !h) continue;
        w.resultsOpen = false;
        if (w !== target) {
          if (h.closeResults()) this.#fromSlot(w);
          continue;
        }
        const outcome = h.awaitResult(w.woken ? WAKE_SPIN_MS : HANDOFF_SPIN_MS, w.rungBefore);
        if (outcome === 'missed') this.#spinSkip = this.#spinBackoff = Math.min(RESULT_SPIN_MAX_SKIP, this.#spinBackoff * 2 || 1);
        else this.#spinBackoff = 0;
        if (outcome === 'slot') this.#fromSlot(w);
      }
    } finally {
      if (outer) this.#watching = false;
    }
  }

  /** The worker worth watching for its results (see `#awaitQuickResults`), if any. */
  #quickResultsFrom(): PoolWorker | undefined {
    const outstanding = this.#outstanding;
    if (outstanding === 0 || outstanding > HANDOFF_BATCH_TASKS || this.#queue.size > 0) return undefined;
    for (const w of this.#workers) {
      if (w.pending === 0) continue;
      if (w.pending !== outstanding || !w.resultsOpen || w.deferred.length > 0) return undefined;
      if (!this.#batching.quickerThan(w.inflight, w.head, w.pending, RESULT_SPIN_TASK_US)) return undefined;
      if (this.#spinSkip > 0) return void this.#spinSkip--;
      return w;
    }
    return undefined;
  }

  /** Reports the result just taken from `w`'s slot, or, after MAX_HANDOFFS_PER_TURN in a row, defers it until the event loop has turned. */
  #fromSlot(w: PoolWorker): void {
    const { r, us } = w.handoff!.taken;
    if (this.#handoffs++ === 0) setImmediate(() => (this.#handoffs = 0));
    if (this.#handoffs < MAX_HANDOFFS_PER_TURN && w.deferred.length === 0) return this.#onResults(w, r, us);
    // Reported in order: nothing else of this worker's comes before the ones deferred.
    if (w.deferred.push({ r, us }) === 1) setImmediate(() => this.#reportDeferred(w));
  }

  #dispatch(): void {
    if (this.#state === 'stopping' || this.#broken) return;
    this.#spawnForQueue();
    if (this.#queue.size === 0) return;
    let takers = 0;
    for (const w of this.#workers) if (this.#canTake(w)) takers++;
    if (takers === 0) return;
    // Once, not after each batch: recomputed, the first taker got 2 of 4 tasks, the second 1, then the first 1 more.
    const share = Math.ceil(this.#queue.size / takers);
    // Idle workers first (pass 0), then second batches for busy ones.
    for (let pass = 0; pass < BATCHES_PER_WORKER && this.#queue.size > 0; pass++) {
      for (const w of this.#workers) {
        if (this.#queue.size === 0) break;
        if (w.batches.length !== pass || !this.#canTake(w)) continue;
        this.#sendBatch(w, share);
      }
    }
  }

  #canTake(w: PoolWorker): boolean {
    if (w.state !== 'ready' || w.retiring || w.exclusive) return false;
    if (w.batches.length === 0) return true;
    return w.batches.length < BATCHES_PER_WORKER && this.#batching.mayQueueBehind(w.inflight[w.head], performance.now() - w.busySince, this.#queue.peek());
  }

  /** Starts workers while the queue holds more tasks than idle or booting workers can take, up to `maxWorkers`. */
  #spawnForQueue(): void {
    const queued = this.#queue.size;
    if (queued === 0) return;
    let free = 0;
    for (const w of this.#workers) if (!w.booted || (w.pending === 0 && !w.retiring)) free++;
    while (free < queued && this.#workers.size < this.#options.maxWorkers) {
      this.#spawn();
      free++;
    }
    this.#holdWhileQueued();
  }

  /**
   * While tasks wait, a worker still booting holds the program open, and so does one being
   * stopped (it ran its maxTasksPerWorker, say): its replacement can start only once its exit
   * is reported, and with nothing ref'd Node ends the program before that, the tasks unrun.
   */
  #holdWhileQueued(): void {
    if (this.#queue.size === 0) return;
    for (const w of this.#workers) if (!w.booted || w.state === 'stopping') w.handle.ref();
  }

  #sendBatch(w: PoolWorker, size: number): void {
    size = Math.min(size, this.#options.maxTasksPerWorker - w.used);
    const queue = this.#queue;
    const b: unknown[] = [];
    let maxFn = -1;
    let n = 0;
    this.#batching.begin();
    while (n < size) {
      const task = queue.peek();
      if (!task || !this.#batching.admit(task, n)) break;
      if (task.timeoutMs > 0) {
        // Runs alone on an idle worker, so its clock starts when it starts.
        if (n > 0 || w.pending > 0) break;
        w.exclusive = true;
        task.timer = setTimeout(() => this.#timedOut(task), task.timeoutMs);
      }
      queue.shift();
      b.push(task.id, task.fn, task.mode, task.payload);
      if (task.fn > maxFn) maxFn = task.fn;
      task.state = 'sent';
      task.worker = w;
      w.inflight.push(task);
      task[kRunning](true);
      n++;
      if (w.exclusive) break;
    }
    if (n === 0) return;
    w.used += n;
    w.batches.push(n);
    if (w.pending === n) w.busySince = performance.now();
    this.#workers.keep(w);
    if (w.pending === n) w.handle.ref();
    const retiring = w.retiring;
    if (w.used >= this.#options.maxTasksPerWorker) w.retiring = true;
    // A lone task to a worker that has nothing else of ours: through its slot if it is watching.
    if (n === 1 && maxFn < w.knownFns && !w.exclusive && w.pending === 1) {
      const task = w.inflight[w.head]!;
      w.woken = !w.offerTask(task.id, task.fn, task.mode, task.payload);
      if (w.resultsOpen) this.#resultsOpened = true;
      if (!w.woken) return;
    } else w.woken = false;
    let message: ToPoolWorker;
    const knownFns = w.knownFns;
    if (maxFn >= w.knownFns) {
      message = { type: 'run', fns: this.#functions.slice(w.knownFns, maxFn + 1), b };
      w.knownFns = maxFn + 1;
    } else {
      message = { type: 'run', b };
    }
    try {
      w.sendRun(message, n <= HANDOFF_BATCH_TASKS);
    } catch (err) {
      w.knownFns = knownFns;
      this.#unsend(w, n, retiring, err);
    } finally {
      if (w.resultsOpen) this.#resultsOpened = true;
    }
  }

  /**
   * The last `n` tasks sent to `w` never left: structured clone refused the batch (a payload
   * holding a Proxy, say, which the codec passes through as it is). The tasks whose payload
   * cannot be cloned fail with NotCloneableError naming the cause; the others go back to the
   * front of the queue.
   */
  #unsend(w: PoolWorker, n: number, retiring: boolean, err: unknown): void {
    const tasks = w.inflight.splice(w.inflight.length - n, n);
    w.batches.pop();
    w.used -= n;
    w.retiring = retiring;
    w.exclusive = false;
    const requeue: Task[] = [];
    const failed: Array<[Task, unknown]> = [];
    for (const task of tasks) {
      clearTimeout(task.timer);
      task.worker = undefined;
      task[kRunning](false);
      try {
        structuredClone(task.payload);
        requeue.push(task);
      } catch (cause) {
        failed.push([task, cause]);
      }
    }
    // Nothing alone is to blame: they all fail, or the same batch would be sent again for ever.
    if (failed.length === 0) for (const task of requeue.splice(0)) failed.push([task, err]);
    for (const task of requeue) task.state = 'queued';
    this.#queue.pushFront(requeue);
    for (const [task, cause] of failed) {
      task.state = 'done';
      this.#outstanding--;
      const why = cause instanceof Error ? cause.message : String(cause);
      task[kSettle](
        false,
        new NotCloneableError('args', `Task ${task.id}'s arguments cannot be sent to a worker (${why}); pass plain values, not proxies or functions.`, {
          cause,
        }),
      );
    }
    if (w.pending === 0) this.#maybeRelease(w);
    this.#taskGone();
    // This dispatch's passes will not come back to `w`: what still queues needs another flush.
    if (this.#queue.size > 0) this.#scheduleFlush();
  }

  #timedOut(task: Task): void {
    if (task.state !== 'sent') return;
    task[kSettle](
      false,
      new TimeoutError(`Task ${task.id} ran past its timeoutMs (${task.timeoutMs} ms); its worker was signalled and is replaced if it does not stop.`),
    );
    this.abortRunning(task, 'timeout');
  }

  // ---- workers -------------------------------------------------------------------------------

  #spawn(): void {
    const worker = this.#workers.boot(undefined);
    worker.handle.send({
      type: 'init',
      name: `${this.#options.name}-Worker-${this.#workers.started}`,
      initializer: this.#options.initializer,
      initargs: this.#options.initargs,
      handoff: worker.makeHandoff(this.#options.kind),
    });
  }

  #ensureMinimum(): void {
    if (this.#state !== 'open' || this.#broken) return;
    while (this.#workers.size < this.#options.minWorkers) this.#spawn();
  }

  #stop(worker: PoolWorker): void {
    worker.retiring = true;
    this.#workers.stop(worker, 'it was stopped by the pool');
  }

  /** An idle worker: unref it, retire it when used up, idle too long, or the pool is closed and empty. */
  #maybeRelease(worker: PoolWorker): void {
    if (worker.pending > 0 || worker.state === 'exited') return;
    worker.exclusive = false;
    worker.handle.unref();
    if (worker.retiring) {
      worker.stopReason ??= `it ran its maxTasksPerWorker (${this.#options.maxTasksPerWorker}) tasks`;
      this.#stop(worker);
    }
    // close() releases every idle worker, a booting one too, and a retiring one now stops: while
    // tasks wait, they must still hold the program.
    this.#holdWhileQueued();
    if (worker.retiring) return;
    const { idleTimeoutMs, minWorkers } = this.#options;
    if (Number.isFinite(idleTimeoutMs) && this.#workers.size > minWorkers) {
      this.#workers.stopWhenIdle(worker, idleTimeoutMs, () => worker.pending === 0 && this.#workers.size > minWorkers, 'it was idle for idleTimeoutMs');
    }
  }

  #breakPool(error: Error): void {
    if (this.#broken) return;
    this.#broken = error;
    for (const task of this.#queue.queued()) if (this.withdraw(task)) task[kSettle](false, error);
    for (const w of this.#workers) this.#stop(w);
  }

  #taskGone(): void {
    if (this.#outstanding !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** What a worker that has exited left in its journal (task-journal.ts); undefined when it had none, or it cannot be read. */
function readJournal(worker: PoolWorker): JournalContents | undefined {
  try {
    return worker.journal?.read();
  } catch {
    return undefined;
  }
}

/** Decodes an outcome that went through the codec: synchronously unless it names classes to import. */
function settleDecoded(future: Future<any>, ok: boolean, value: unknown): void {
  const decoded = decodeMaybeAsync(value);
  if (!(decoded instanceof Promise)) return future[kSettle](ok, decoded);
  decoded.then(
    (v) => future[kSettle](ok, v),
    (err: unknown) => future[kSettle](false, err),
  );
}

function decodeSettled(value: unknown): unknown {
  try {
    return decode(value);
  } catch (err) {
    return err;
  }
}
