/**
 * `asCompleted(futures, timeoutMs?)` (Python's `concurrent.futures.as_completed`).
 */
import { TimeoutError } from '../errors.ts';
import { checkTimeout } from '../internal/timeout.ts';
import type { Future } from './future.ts';

/**
 * Yields each future as it completes (finished or cancelled): first those already done, then the
 * others in the order they finish. Duplicates are yielded once. Throws a `TimeoutError` from the
 * iteration when `timeoutMs` (counted from this call) passes before all are done; the futures
 * themselves are left as they are.
 */
export function asCompleted<T>(futures: Iterable<Future<T>>, timeoutMs?: number): AsyncIterableIterator<Future<T>> {
  const deadline = performance.now() + checkTimeout(timeoutMs, 'asCompleted()');
  const all = new Set(futures);
  const finished: Future<T>[] = [];
  let wake: (() => void) | undefined;
  for (const f of all) if (f.done()) finished.push(f);
  for (const f of all)
    if (!f.done())
      f.addDoneCallback((g) => {
        finished.push(g);
        wake?.();
      });
  return (async function* () {
    let yielded = 0;
    while (yielded < all.size) {
      if (finished.length === 0) {
        const left = deadline - performance.now();
        if (left <= 0) throw new TimeoutError(`${all.size - yielded} of ${all.size} futures were not done within ${timeoutMs} ms.`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (left !== Infinity) timer = setTimeout(resolve, left);
        });
        clearTimeout(timer);
        wake = undefined;
        continue;
      }
      yielded++;
      yield finished.shift()!;
    }
  })();
}
