/**
 * `LockLike`: what `Lock` and `RLock` have in common, and what `Condition` needs from its lock
 * (Python's `_is_owned`, `_release_save`, `_acquire_restore`, kept off the public surface behind
 * symbols); and the guard every `hold()` returns. An interface between classes, not messages
 * and not a memory layout.
 */
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
