// Queues and pipes: Queue, JoinableQueue, SimpleQueue, Pipe and its Connection ends, all over the byte ring
// of ring.ts; transfer.ts drives a ring's waits for them, item-codec.ts turns items into bytes.
// Waiting, memory, timeouts and the owner-death check come from ../internal/ (park.ts,
// cells.ts, timeout.ts, owner.ts), as for sync/.
export { Queue, type QueueOptions } from './queue.ts';
export { JoinableQueue } from './joinable-queue.ts';
export { SimpleQueue, type SimpleQueueOptions } from './simple-queue.ts';
export { Pipe, type PipeOptions } from './pipe.ts';
export { Connection } from './connection.ts';
