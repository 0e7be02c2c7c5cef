// The pool layer's public API: Python's multiprocessing.Pool and concurrent.futures.
export { Pool, type PoolOptions, type MapOptions, type ApplyOptions } from './pool.ts';
export { Executor, ThreadPoolExecutor, ProcessPoolExecutor, type ExecutorOptions, type ShutdownOptions } from './executor.ts';
export { Future } from './future.ts';
export { wait, type FuturesWaitOptions, type FuturesWaitResult, type ReturnWhen } from './wait.ts';
export { asCompleted } from './as-completed.ts';
export { currentTask, type TaskInfo } from './current-task.ts';
export type { PoolStats } from './dispatcher.ts';
export type { WorkerOptions } from './options.ts';
export type { WorkerKind } from '../workers/worker-handle.ts';
