/**
 * One worker of a pool, as the dispatcher tracks it on top of its worker set's bookkeeping
 * (src/workers/worker-set.ts): the tasks sent to it and not yet reported, in the order sent (the
 * order it runs and reports them), the batches they came in, and what it has learned.
 */
import { add, load, sub } from '../internal/atomics.ts';
import { entryPoint } from '../internal/package-files.ts';
import { allocate, available as shmAvailable, originOf } from '../internal/shm.ts';
import type { WorkerHandle, WorkerKind } from '../workers/worker-handle.ts';
import { startProcess, startThread, type WorkerEvents } from '../workers/worker-handle.ts';
import { ManagedWorker } from '../workers/worker-set.ts';
import type { Task } from './task.ts';
import { Handoff, HANDOFF_BYTES, RESULT_BELL, TASK_BELL, type HandoffRef } from './handoff.ts';
import { JOURNAL_BYTES, TaskJournal } from './task-journal.ts';
import type { FromPoolWorker, ToPoolWorker } from './worker-messages.ts';

const THREAD_ENTRY = entryPoint('pool/thread-worker');
const PROCESS_ENTRY = entryPoint('pool/process-worker');

/** A worker's shared memory: its hand-off slot, then its journal. */
const REGION_BYTES = HANDOFF_BYTES + JOURNAL_BYTES;

/**
 * Regions (slot and journal) of child processes that have exited, for the next children:
 * /dev/shm regions are never freed (src/internal/shm.ts), and a pool that replaces its workers
 * often (a small `maxTasksPerWorker`) would otherwise take new memory for every child it starts.
 */
const spareSlots: Array<{ buffer: ArrayBuffer; byteOffset: number }> = [];

/** Starts the thread or process of one pool worker, at thread-worker.ts or process-worker.ts. */
export function startPoolWorker(kind: WorkerKind, events: WorkerEvents<FromPoolWorker>): WorkerHandle<ToPoolWorker> {
  return kind === 'thread' ? startThread(THREAD_ENTRY, {}, events) : startProcess(PROCESS_ENTRY, [], events);
}

export class PoolWorker extends ManagedWorker<ToPoolWorker> {
  /** Takes no more tasks: it ran its `maxTasksPerWorker` or is being stopped; it stops once idle. */
  retiring = false;
  /** Runs a task with a time-out, alone. */
  exclusive = false;
  /** Tasks sent and not reported, in the order sent (= the order they run and report), from `head` on. */
  readonly inflight: Task[] = [];
  head = 0;
  /** Sizes of the batches in flight, oldest first, less what has been reported of the first. */
  readonly batches: number[] = [];
  /** How many entries of the pool's function table it has been sent. */
  knownFns = 0;
  /** Tasks sent to it in its life (for `maxTasksPerWorker`). */
  used = 0;
  /** `performance.now()` when it last started on what it holds: a batch sent while it was idle, or its last results (batching.ts, BUSY_LIMIT_MS). */
  busySince = 0;

  /** Its hand-off slot (handoff.ts); none for a process without /dev/shm. */
  handoff: Handoff | undefined;
  /** Its journal (task-journal.ts), after the slot in the same memory; none without a slot. */
  journal: TaskJournal | undefined;
  /** The slot's place in /dev/shm, for a child process: it goes back to `spareSlots` when the child has exited. */
  #slotRegion: { buffer: ArrayBuffer; byteOffset: number } | undefined;
  /** `RESULT_BELL` when the last batch was sent. */
  rungBefore = 0;
  /** Its result area is open (handoff.ts), and the dispatcher has yet to close it. */
  resultsOpen = false;
  /** The last batch was one task, and it went as a message because the worker was not watching its slot. */
  woken = false;
  /** Results taken from its slot and not reported yet, oldest first (dispatcher.ts, MAX_HANDOFFS_PER_TURN). */
  readonly deferred: Array<{ r: unknown[]; us: number }> = [];

  /**
   * Makes its hand-off slot and journal, for the `init` message to carry: a thread's in a
   * SharedArrayBuffer (it travels as it is), a child process's in /dev/shm (it travels as a
   * reference). Undefined for a process without /dev/shm.
   */
  makeHandoff(kind: WorkerKind): HandoffRef | Int32Array<SharedArrayBuffer> | undefined {
    if (kind === 'thread') {
      const buffer = new SharedArrayBuffer(REGION_BYTES);
      this.handoff = new Handoff(buffer, 0);
      this.journal = new TaskJournal(buffer, HANDOFF_BYTES);
      return this.handoff.cells as Int32Array<SharedArrayBuffer>;
    }
    if (!shmAvailable) return undefined;
    const region = spareSlots.pop() ?? allocate(REGION_BYTES);
    this.#slotRegion = region;
    this.handoff = new Handoff(region.buffer, region.byteOffset);
    this.handoff.reset();
    this.journal = new TaskJournal(region.buffer, region.byteOffset + HANDOFF_BYTES);
    this.journal.reset();
    return { ...originOf(region.buffer)!, byteOffset: region.byteOffset };
  }

  /** Its process has exited (read its journal first): nobody maps its slot any more, and the next child may have it. */
  releaseHandoff(): void {
    if (this.#slotRegion) spareSlots.push(this.#slotRegion);
    this.#slotRegion = undefined;
    this.handoff = undefined;
    this.journal = undefined;
    this.resultsOpen = false;
  }

  /**
   * Sends a batch. `TASK_BELL` rings first, so a child watching its slot can never have the
   * message in hand before it knows one is coming (a thread polls its port instead). A small
   * batch's answer may come through the slot: its result area opens first too.
   */
  sendRun(message: ToPoolWorker, small: boolean): void {
    const h = this.handoff;
    if (h) {
      this.rungBefore = load(h.cells, RESULT_BELL);
      if (small) this.#openResults(h);
      add(h.cells, TASK_BELL, 1);
    }
    try {
      this.handle.send(message);
    } catch (err) {
      // Nothing is coming after all (a child watching its slot compares the bell with what it got).
      if (h) sub(h.cells, TASK_BELL, 1);
      throw err;
    }
  }

  /** Passes one task through the slot, when the worker is watching it (handoff.ts); false: send it. */
  offerTask(id: number, fn: number, mode: number, payload: unknown): boolean {
    const h = this.handoff;
    if (!h) return false;
    this.rungBefore = load(h.cells, RESULT_BELL);
    this.#openResults(h);
    return h.offerTask(id, fn, mode, payload);
  }

  /** Opens its result area; the dispatcher closes it (`resultsOpen`) before it returns to its event loop. */
  #openResults(h: Handoff): void {
    h.openResults();
    this.resultsOpen = true;
  }

  /** Tasks sent to it and not reported yet. */
  get pending(): number {
    return this.inflight.length - this.head;
  }
}
