// Queues and pipes: Queue, JoinableQueue, Pipe and its Connection ends.
export { Queue, type QueueOptions } from './queue.ts';
export { JoinableQueue } from './joinable-queue.ts';
export { Pipe, type PipeOptions } from './pipe.ts';
export { Connection } from './connection.ts';
