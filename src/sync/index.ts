// Synchronization primitives, one file each: Lock, RLock, Semaphore, BoundedSemaphore, Condition,
// Event, Barrier; lock-like.ts is what Condition needs from its lock (and the hold() guard).
// What they share with queue/ lives in ../internal/: how they wait (park.ts), where their state
// lives (cells.ts), the timeout rule (timeout.ts), the owner-death check (owner.ts), Atomics.
export { Lock, type LockOptions } from './lock.ts';
export { RLock, type RLockOptions } from './rlock.ts';
export { Semaphore, type SemaphoreOptions } from './semaphore.ts';
export { BoundedSemaphore } from './bounded-semaphore.ts';
export { Condition, type ConditionOptions } from './condition.ts';
export { Event, type EventOptions } from './event.ts';
export { Barrier, type BarrierOptions } from './barrier.ts';
export type { MemoryOptions } from '../internal/cells.ts';
export type { SyncWaitOptions, WaitOptions } from '../internal/park.ts';
export type { LockGuard } from './lock-like.ts';
