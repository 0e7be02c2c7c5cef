/**
 * `wait(futures, { timeoutMs, returnWhen })` (Python's `concurrent.futures.wait`).
 */
import { InvalidArgumentError } from '../errors.ts';
import { checkTimeout } from '../internal/timeout.ts';
import { kFailed, type Future } from './future.ts';

export type ReturnWhen = 'FIRST_COMPLETED' | 'FIRST_EXCEPTION' | 'ALL_COMPLETED';

export interface FuturesWaitOptions {
  /** Give up waiting after this long and return what is done by then. Default: no limit. */
  timeoutMs?: number;
  /**
   * `'ALL_COMPLETED'` (default): when every future is done. `'FIRST_COMPLETED'`: when any is.
   * `'FIRST_EXCEPTION'`: when any finishes with an error (a cancelled one does not count, as in
   * Python), or else when all are done.
   */
  returnWhen?: ReturnWhen;
}

export interface FuturesWaitResult<T> {
  done: Set<Future<T>>;
  notDone: Set<Future<T>>;
}

/**
 * Waits until `returnWhen` holds for `futures`, or `timeoutMs` passes, and splits them into `done`
 * and `notDone`. Never rejects for a future's error, and a time-out is not an error either: it
 * returns with `notDone` non-empty. The futures are left as they are (nothing is cancelled).
 */
export async function wait<T>(
  futures: Iterable<Future<T>>,
  { timeoutMs, returnWhen = 'ALL_COMPLETED' }: FuturesWaitOptions = {},
): Promise<FuturesWaitResult<T>> {
  const ms = checkTimeout(timeoutMs, 'wait()');
  if (returnWhen !== 'ALL_COMPLETED' && returnWhen !== 'FIRST_COMPLETED' && returnWhen !== 'FIRST_EXCEPTION') {
    throw new InvalidArgumentError(`Expected \`returnWhen\` to be 'FIRST_COMPLETED', 'FIRST_EXCEPTION' or 'ALL_COMPLETED', got ${JSON.stringify(returnWhen)}.`);
  }
  const all = new Set(futures);
  const satisfied = (): boolean => {
    let done = 0;
    for (const f of all) {
      if (!f.done()) continue;
      done++;
      if (returnWhen === 'FIRST_EXCEPTION' && f[kFailed]()) return true;
    }
    return done === all.size || (returnWhen === 'FIRST_COMPLETED' && done > 0);
  };
  if (!satisfied()) {
    await new Promise<void>((resolve) => {
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        resolve();
      };
      const timer = ms === Infinity ? undefined : setTimeout(finish, ms);
      for (const f of all) if (!f.done()) f.addDoneCallback(() => !finished && satisfied() && finish());
    });
  }
  const done = new Set<Future<T>>();
  const notDone = new Set<Future<T>>();
  for (const f of all) (f.done() ? done : notDone).add(f);
  return { done, notDone };
}
