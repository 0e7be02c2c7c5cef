// `threadkit/redis`: threadkit's vocabulary past one machine, on Redis (ioredis and BullMQ, optional peer dependencies).
export { RedisLock, type RedisLockOptions, type AcquireOptions, type Holding } from './lock.ts';
export { StaleFenceError, LeaseLostError, ModuleMismatchError, RedisUnavailableError } from './errors.ts';
export type { RedisConnection } from './connection.ts';
export { RedisQueue, type RedisQueueOptions, type QueueWaitOptions } from './queue.ts';
export { RedisJoinableQueue } from './joinable-queue.ts';
export { ClusterExecutor, type ClusterExecutorOptions, type ClusterShutdownOptions } from './executor.ts';
export { ClusterFuture } from './cluster-future.ts';
export { ClusterWorker, type ClusterWorkerOptions } from './cluster-worker.ts';
export { clusterTask, type ClusterTaskInfo } from './cluster-task.ts';
