/**
 * One worker of a pool, as the dispatcher tracks it on top of its worker set's bookkeeping
 * (src/workers/worker-set.ts): the tasks sent to it and not yet reported, in the order sent (the
 * order it runs and reports them), the batches they came in, and what it has learned.
 */
import { add, load, spinWhileEqual, type Cell } from '../internal/atomics.ts';
import { entryPoint } from '../internal/package-files.ts';
import { allocate, available as shmAvailable, originOf } from '../internal/shm.ts';
import type { WorkerHandle, WorkerKind } from '../workers/worker-handle.ts';
import { startProcess, startThread, type WorkerEvents } from '../workers/worker-handle.ts';
import { ManagedWorker } from '../workers/worker-set.ts';
import type { Task } from './task.ts';
import type { Doorbell, FromPoolWorker, ToPoolWorker } from './worker-messages.ts';

const THREAD_ENTRY = entryPoint('pool/thread-worker');
const PROCESS_ENTRY = entryPoint('pool/process-worker');

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

  /** Its doorbell (worker-messages.ts); none for a process without /dev/shm. */
  bell: Cell | undefined;
  /** The bell's count of results messages when the last batch was sent. */
  resultsBefore = 0;

  /**
   * Makes its doorbell, for the `init` message to carry: a thread's cells in a SharedArrayBuffer
   * (they travel as they are), a child process's in /dev/shm (they travel as a reference).
   * Undefined for a process without /dev/shm.
   */
  makeBell(kind: WorkerKind): Doorbell | Int32Array<SharedArrayBuffer> | undefined {
    if (kind === 'thread') {
      const cells = new Int32Array(new SharedArrayBuffer(8));
      this.bell = cells;
      return cells;
    }
    if (!shmAvailable) return undefined;
    const { buffer, byteOffset } = allocate(8);
    this.bell = new Int32Array(buffer, byteOffset, 2);
    return { ...originOf(buffer)!, byteOffset };
  }

  /** Sends a batch and rings the doorbell: a child spinning after its last batch returns to its event loop to read it (a thread polls its port instead). */
  sendRun(message: ToPoolWorker): void {
    if (this.bell) this.resultsBefore = load(this.bell, 1);
    this.handle.send(message);
    if (this.bell) add(this.bell, 0, 1);
  }

  /**
   * Keeps this thread busy until the worker rings back (it sent results since the last batch) or
   * `ms` pass; the results are then waiting in the event loop. True when it rang in time.
   */
  spinForResults(ms: number): boolean {
    return this.bell !== undefined && spinWhileEqual(this.bell, 1, this.resultsBefore, ms);
  }

  /** Tasks sent to it and not reported yet. */
  get pending(): number {
    return this.inflight.length - this.head;
  }
}
