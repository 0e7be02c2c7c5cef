/**
 * `clusterTask()`: the cluster task this code runs in, on a `threadkit worker` — its id, which
 * attempt this is, and the `AbortSignal` through which `future.abort()` (or a drain that hands the
 * task back) asks it to stop. A worker runs several tasks at once (`-j N`), so this is kept per
 * async context (AsyncLocalStorage), not in one global.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface ClusterTaskInfo {
  /** The job id ('' outside a cluster task). */
  readonly id: string;
  /** 1 for the first attempt, 2 for the first retry, … (0 outside a cluster task). */
  readonly attempt: number;
  /** Aborted when the task is cancelled while it runs; `signal.reason` is a `CancelledError`. */
  readonly signal: AbortSignal;
}

const outside: ClusterTaskInfo = { id: '', attempt: 0, signal: new AbortController().signal };

/** @internal */
export const taskContext = new AsyncLocalStorage<ClusterTaskInfo>();

/** The cluster task running now, or an inert record (id '', a signal that never fires) outside one. */
export function clusterTask(): ClusterTaskInfo {
  return taskContext.getStore() ?? outside;
}
