/**
 * The `Future` of a cluster task: the core's `Future` (same states, `result`, `cancel`, `abort`,
 * callbacks; `wait` and `asCompleted` from `threadkit` accept it), whose cancel and abort reach
 * Redis and the worker that holds the task.
 */
import { Future, kAbort, kWithdraw } from '../pool/future.ts';

export interface RemoteCancel {
  /** Marks the job cancelled, removes it if it waits, and tells the workers to abort it if one runs it. */
  cancelRemote(jobId: string): void;
}

export class ClusterFuture<T = unknown> extends Future<T> {
  /** The BullMQ job id. */
  readonly jobId: string;
  readonly #owner: RemoteCancel;

  /** @internal Made by `ClusterExecutor.submit`. */
  constructor(owner: RemoteCancel, jobId: string) {
    super();
    this.#owner = owner;
    this.jobId = jobId;
  }

  /** @internal A pending task: withdrawn from Redis; a worker that took it meanwhile is told to abort it. */
  override [kWithdraw](): boolean {
    this.#owner.cancelRemote(this.jobId);
    return true;
  }

  /** @internal A running task: its worker aborts its `clusterTask().signal`. */
  override [kAbort](): void {
    this.#owner.cancelRemote(this.jobId);
  }
}
