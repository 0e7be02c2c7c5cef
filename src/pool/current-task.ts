/**
 * `currentTask()`: the pool task this code runs in, with the `AbortSignal` through which the pool
 * asks it to stop (a cancel of a running task, or its `timeoutMs`).
 *
 * A pool worker runs one task at a time, so this is one mutable record per worker rather than an
 * `AsyncLocalStorage` (which would cost every tiny task a context switch). The signal is created
 * only when a task asks for it.
 */
import { TRACING, traceTaskBegin, traceTaskEnd } from '../trace/hooks.ts';

export interface TaskInfo {
  /** The task's id, unique within its pool; 0 outside a pool task. */
  readonly id: number;
  /**
   * Aborted when the pool cancels the running task (`future.abort()`, `shutdown({ cancelFutures })`
   * does not touch running tasks) or its `timeoutMs` passes; `signal.reason` is a `CancelledError`
   * or a `TimeoutError`. The pool terminates the worker when the task has not ended within the
   * grace period after that, so a task that blocks its thread synchronously is stopped all the same.
   * Read it synchronously at the start of the task: after the task ends it belongs to the next one.
   */
  readonly signal: AbortSignal;
}

const never = new AbortController().signal;
const outside: TaskInfo = { id: 0, signal: never };

let currentId = 0;
let controller: AbortController | undefined;

const info: TaskInfo = {
  get id() {
    return currentId;
  },
  get signal() {
    if (currentId === 0) return never;
    return (controller ??= new AbortController()).signal;
  },
};

/** The pool task running now, or an inert record (id 0, a signal that never fires) outside one. */
export function currentTask(): TaskInfo {
  return currentId === 0 ? outside : { id: currentId, signal: info.signal };
}

/** @internal The worker loop marks the start and end of each task. */
export function enterTask(id: number): void {
  currentId = id;
  controller = undefined;
  if (TRACING) traceTaskBegin(id);
}

/** @internal */
export function leaveTask(): void {
  if (TRACING) traceTaskEnd();
  currentId = 0;
  controller = undefined;
}

/** @internal Fires the running task's signal when `id` is the task running now; false otherwise. */
export function abortTask(id: number, reason: Error): boolean {
  if (currentId !== id) return false;
  (controller ??= new AbortController()).abort(reason);
  return true;
}
