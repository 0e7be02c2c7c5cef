// Synchronization primitives: Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier.
export {};
