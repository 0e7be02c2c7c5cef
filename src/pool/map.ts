/**
 * `Executor.map` written once, for every executor (ThreadPoolExecutor, ProcessPoolExecutor, and
 * threadkit/redis's ClusterExecutor): Python's `Executor.map(fn, *iterables)`.
 */
import { InvalidArgumentError } from '../errors.ts';
import type { Future } from './future.ts';

/** The iterables of `map`, one per parameter of `fn`. */
export type IterablesFor<P extends unknown[]> = { [K in keyof P]: Iterable<P[K]> };

/**
 * Zips `iterables` and submits one call per tuple now (stopping at the shortest, as Python's
 * `zip`); yields the results in order. A call's error is thrown when the iteration reaches it;
 * leaving the loop early (or an error) cancels the calls that have not started.
 */
export function mapZipped<T>(iterables: readonly Iterable<unknown>[], submit: (args: unknown[]) => Future<T>): AsyncIterableIterator<T> {
  if (iterables.length === 0) throw new InvalidArgumentError('map() needs at least one iterable.');
  const iterators = iterables.map((it) => it[Symbol.iterator]());
  const futures: Future<T>[] = [];
  for (;;) {
    const args: unknown[] = [];
    for (const it of iterators) {
      const r = it.next();
      if (r.done) return results(futures);
      args.push(r.value);
    }
    futures.push(submit(args));
  }
}

async function* results<T>(futures: Future<T>[]): AsyncIterableIterator<T> {
  let i = 0;
  try {
    for (; i < futures.length; i++) yield await futures[i]!.result();
  } finally {
    for (; i < futures.length; i++) futures[i]!.cancel();
  }
}
