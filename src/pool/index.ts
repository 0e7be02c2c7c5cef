/**
 * The pool layer's public API: Python's `multiprocessing.Pool` and `concurrent.futures`.
 *
 * What lives where (a task's path, top to bottom):
 *
 * - `pool.ts`, `executor.ts`: the public classes; `options.ts` validates what they share,
 *   `call.ts` turns a call into what crosses (the function as a TargetRef, the arguments).
 * - `future.ts` (`Future`), `wait.ts`, `as-completed.ts`: the caller's side of a task.
 * - `dispatcher.ts`: the engine. It owns the pool's state (open, closed, stopping), moves tasks
 *   from `task-queue.ts` to its workers in batches sized by `batching.ts`, and handles cancel,
 *   time-outs and dying workers. `task.ts` is a task as it tracks it (the very Future the caller
 *   holds), `function-table.ts` the functions tasks call, `pool-worker.ts` one worker's tasks.
 *   The workers themselves (boot, ready, stop, exit; thread or process) are a worker set of
 *   src/workers/, shared with the thread scheduler.
 * - `worker-messages.ts`: the one channel between dispatcher and workers.
 * - Inside a worker: `thread-worker.ts` / `process-worker.ts` (the entries), `worker-loop.ts`
 *   (runs the batches), `current-task.ts` (`currentTask()`).
 *
 * A change to the batch or result layout touches worker-messages.ts, dispatcher.ts and
 * worker-loop.ts together; a change to how workers start or die, src/workers/ (and so Threads).
 */
export { Pool, type PoolOptions, type MapOptions, type ApplyOptions } from './pool.ts';
export { Executor, ThreadPoolExecutor, ProcessPoolExecutor, type ExecutorOptions, type ShutdownOptions } from './executor.ts';
export { Future } from './future.ts';
export { wait, type FuturesWaitOptions, type FuturesWaitResult, type ReturnWhen } from './wait.ts';
export { asCompleted } from './as-completed.ts';
export { currentTask, type TaskInfo } from './current-task.ts';
export type { PoolStats } from './dispatcher.ts';
export type { WorkerOptions } from './options.ts';
export type { WorkerKind } from '../workers/worker-handle.ts';
