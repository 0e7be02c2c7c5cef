/**
 * Every error threadkit throws is a `ThreadkitError` with a stable `code`, so callers can
 * branch on `err.code` instead of parsing messages. Messages name the problem and the fix.
 */
export class ThreadkitError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The target function or class could not be found as an export, in the parent or in the child. */
export class TargetNotFoundError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_TARGET_NOT_FOUND', message, options);
  }
}

/** An argument (or result) cannot cross to another thread or process. */
export class NotCloneableError extends ThreadkitError {
  /** Where the value sits, such as `args[1].account`. */
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super('TK_NOT_CLONEABLE', message, options);
    this.path = path;
  }
}

/** A method was called in a state that does not allow it: `start()` twice, `join()` before `start()`. */
export class InvalidStateError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_INVALID_STATE', message, options);
  }
}

/** A bad option or argument value, such as a negative timeout. */
export class InvalidArgumentError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_INVALID_ARGUMENT', message, options);
  }
}

/** `release()` of a lock that is not locked (Python: `RuntimeError` / `ValueError`). */
export class LockNotHeldError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_LOCK_NOT_HELD', message, options);
  }
}

/** `release()` of an `RLock` (or a `Condition` operation) by a thread or task that does not own it. */
export class LockNotOwnedError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_LOCK_NOT_OWNED', message, options);
  }
}

/**
 * The thread that held a lock died (terminated, crashed) without releasing it. The lock is
 * poisoned: every waiter and every later acquirer gets this error instead of hanging forever.
 */
export class LockOwnerDiedError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_LOCK_OWNER_DIED', message, options);
  }
}

/** `BoundedSemaphore.release()` above its initial value (Python: `ValueError`). */
export class SemaphoreOverflowError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_SEMAPHORE_OVERFLOW', message, options);
  }
}

/** A `Barrier` was aborted, reset while waited on, or a wait on it timed out (Python: `BrokenBarrierError`). */
export class BrokenBarrierError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_BARRIER_BROKEN', message, options);
  }
}

/** A wait ran past its `timeoutMs` where the API reports time-outs as errors (futures, queues). */
export class TimeoutError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_TIMEOUT', message, options);
  }
}

/** A worker thread or child process died while running a task. */
export class WorkerDiedError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_WORKER_DIED', message, options);
  }
}

/** A feature that exists in Python but is not (yet) available for this kind of value or backend. */
export class NotSupportedError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_NOT_SUPPORTED', message, options);
  }
}

/** `getNowait()` (or `get` with a timeout) found the queue empty (Python: `queue.Empty`). */
export class QueueEmptyError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_QUEUE_EMPTY', message, options);
  }
}

/** `putNowait()` (or `put` with a timeout) found the queue full (Python: `queue.Full`). */
export class QueueFullError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_QUEUE_FULL', message, options);
  }
}

/** Use of a queue or pipe end after `close()` (Python: `ValueError`/`OSError` on a closed queue or connection). */
export class ClosedError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_CLOSED', message, options);
  }
}

/**
 * A future was cancelled before it finished (Python's `concurrent.futures.CancelledError`):
 * `cancel()` on a queued task, `abort()` on a running one, `shutdown({ cancelFutures: true })`,
 * or `terminate()` of its pool.
 */
export class CancelledError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_CANCELLED', message, options);
  }
}

/**
 * A Process, Thread or pool was started while a child was importing a module to find its target:
 * the module starts work at its top level. Guard it with `if (isMain(import.meta))`.
 */
export class BootstrapError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_BOOTSTRAP', message, options);
  }
}

/**
 * An uncaught error (from a timer or a promise) on a worker thread that several Threads share
 * could not be charged to one of them: it came from code outside every Thread's context (a
 * module's top level, or a timer it created). Every Thread on that worker fails with it; the
 * original error is its `cause`.
 */
export class StrayError extends ThreadkitError {
  constructor(message: string, options?: ErrorOptions) {
    super('TK_STRAY_ERROR', message, options);
  }
}
