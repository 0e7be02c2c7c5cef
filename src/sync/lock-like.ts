/**
 * `LockLike`: what `Lock` and `RLock` have in common, and what `Condition` needs from its lock
 * (Python's `_is_owned`, `_release_save`, `_acquire_restore`, kept off the public surface behind
 * symbols); the guard every `hold()` returns, and the one `withLock`/`hold` body that `Lock`,
 * `RLock` and `Semaphore` share. An interface between classes, not messages and not a memory layout.
 */
import { TimeoutError } from '../errors.ts';
import type { SyncWaitOptions, WaitOptions } from '../internal/park.ts';

export const kIsOwned: unique symbol = Symbol('threadkit.isOwned');
export const kReleaseSave: unique symbol = Symbol('threadkit.releaseSave');
export const kAcquireRestore: unique symbol = Symbol('threadkit.acquireRestore');
export const kAcquireRestoreSync: unique symbol = Symbol('threadkit.acquireRestoreSync');

/** A guard from `hold()`: `using _ = await lock.hold()` releases at the end of the block. */
export interface LockGuard extends Disposable, AsyncDisposable {}

/** What `Lock` and `RLock` have in common; a `Condition` works over either. */
export interface LockLike {
  acquire(options?: WaitOptions): Promise<boolean>;
  acquireSync(options?: SyncWaitOptions): boolean;
  tryAcquire(): boolean;
  release(): void;
  locked(): boolean;
  [kIsOwned](): boolean;
  /** Releases completely; returns what `[kAcquireRestore]` needs to restore (the recursion depth). */
  [kReleaseSave](): number;
  [kAcquireRestore](saved: number): Promise<void>;
  [kAcquireRestoreSync](saved: number): void;
}

/** What `withLock` and `hold` need: a `Lock`, an `RLock` or a `Semaphore`. */
interface Acquirable {
  acquire(options?: WaitOptions): Promise<boolean>;
  release(): void;
}

/**
 * The body of every `withLock`: acquires `lock`, runs `fn`, releases once even if `fn` throws.
 * When `timeoutMs` runs out first it rejects with `TimeoutError` (`${label}.withLock()`) and
 * `fn` does not run.
 */
export async function withAcquired<T>(lock: Acquirable, label: string, fn: () => T | PromiseLike<T>, options: WaitOptions | undefined): Promise<T> {
  if (!(await lock.acquire(options))) throw new TimeoutError(`${label}.withLock(): not acquired within ${options?.timeoutMs} ms`);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** The body of every `hold`: acquires `lock` and returns a guard that releases it once; `TimeoutError` (`${label}.hold()`) as `withAcquired`. */
export async function holdAcquired(lock: Acquirable, label: string, options: WaitOptions | undefined): Promise<LockGuard> {
  if (!(await lock.acquire(options))) throw new TimeoutError(`${label}.hold(): not acquired within ${options?.timeoutMs} ms`);
  return guard(() => lock.release());
}

/** A guard that calls `release` once. */
export function guard(release: () => void): LockGuard {
  let done = false;
  const dispose = (): void => {
    if (done) return;
    done = true;
    release();
  };
  return {
    [Symbol.dispose]: dispose,
    [Symbol.asyncDispose]: async () => dispose(),
  };
}
