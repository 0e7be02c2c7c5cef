/**
 * A pool task as the dispatcher tracks it. It is the very `Future` the caller holds (one object
 * per task instead of two: with 100 000 tiny tasks in flight, the garbage collector notices).
 *
 * Its {@link TaskState} says where the task is, which the future's own state (Python's
 * PENDING/RUNNING/FINISHED) does not: a task aborted while it runs is already cancelled for its
 * caller, yet still `sent` until its worker reports it or dies.
 *
 *     queued ──(sent in a batch)──▶ sent ──(result, or its worker died)──▶ done
 *       │ ▲                          │
 *       │ └──(its worker died before it started)
 *       └──(withdrawn: cancelled, or the pool terminated or broke)──▶ done
 */
import { Future, kAbort, kWithdraw } from './future.ts';
import type { PoolWorker } from './pool-worker.ts';

export type TaskState = 'queued' | 'sent' | 'done';

/** What a task asks of its pool when its future is cancelled or aborted. */
export interface TaskOwner {
  /** Takes a queued task out of the queue; false when it already left it. */
  withdraw(task: Task): boolean;
  /** Signals a running task to stop, and kills its worker when it does not within the grace period. */
  abortRunning(task: Task, why: 'cancel' | 'timeout'): void;
}

export class Task extends Future<any> {
  state: TaskState = 'queued';
  /** The worker it was sent to, while `sent`. */
  worker: PoolWorker | undefined = undefined;
  /** Its `timeoutMs` clock, or the grace period after its signal. */
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  readonly pool: TaskOwner;
  readonly id: number;
  /** Index of the function in the pool's function table (function-table.ts). */
  readonly fn: number;
  /** How the worker calls it (`Mode` in worker-messages.ts). */
  readonly mode: number;
  readonly payload: unknown;
  /** 0: no time limit. */
  readonly timeoutMs: number;
  /** Its caller chose the batching (an explicit `chunksize`): it travels alone, to a worker with nothing else (batching.ts). */
  readonly alone: boolean;

  constructor(pool: TaskOwner, id: number, fn: number, mode: number, payload: unknown, timeoutMs: number, alone: boolean) {
    super();
    this.alone = alone;
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
