/**
 * The start-up every threadkit worker entry runs before it says it is ready: the thread carrier
 * (src/thread/carrier.ts), the process child (src/process/child.ts) and the pool workers
 * (src/pool/thread-worker.ts, src/pool/process-worker.ts). Each entry listens for messages at
 * once (nothing is lost), awaits this, then says `ready`. In this order:
 *
 * 1. Node's compile cache, so a `.ts` target imports in ~3 ms instead of ~100 ms (warm.ts);
 * 2. the thread table (src/internal/runtime.ts): this thread's slot, from `workerData` or,
 *    in a child process, from the environment;
 * 3. with `warm`, the rest of threadkit, so its revivers (Lock, Queue, Value…) are registered
 *    before the first payload is decoded. A worker booted ahead of need (a spare, a pool worker)
 *    warms up; one booted for a run that is already waiting skips it and says ready at once, and
 *    that run warms up first only when its payload holds threadkit primitives (`needsThreadkit`).
 */
import { startRuntime } from '../internal/runtime.ts';
import { enableCache, warmUp } from '../internal/warm.ts';

/**
 * Resolves when the worker may say it is ready. A failed warm-up does not stop that: the error
 * comes back to the first run that needs threadkit (`warmUp()` returns the same promise).
 */
export function bootWorker({ warm }: { warm: boolean }): Promise<void> {
  enableCache();
  startRuntime();
  return warm ? warmUp().catch(() => {}) : Promise.resolve();
}
