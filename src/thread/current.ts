/**
 * `currentThread()`: the Thread this code runs in (Python's `threading.current_thread()`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { isMainThread, threadId } from 'node:worker_threads';

export interface ThreadInfo {
  /** `'MainThread'` on the main thread; the Thread's name inside one. */
  readonly name: string;
  /** Unique among the Threads this process started (Python's `ident`); 0 for the main thread. */
  readonly ident: number;
  /** The worker thread running it (`worker_threads.threadId`, Python's `native_id`); several Threads may share one. */
  readonly threadId: number;
  readonly daemon: boolean;
  /** Aborted when the parent calls `terminate()` or `kill()` on this Thread: long-running targets should watch it. */
  readonly signal: AbortSignal;
  /** Sends a structured-cloneable value to the parent's `Thread` object, which emits it as `'message'`. */
  postMessage(data: unknown): void;
}

const never = new AbortController().signal;

const outside: ThreadInfo = {
  name: isMainThread ? 'MainThread' : `Worker-${threadId}`,
  ident: 0,
  threadId,
  daemon: false,
  signal: never,
  postMessage() {
    throw new TypeError('currentThread().postMessage() works only inside a threadkit Thread.');
  },
};

/** @internal The carrier runs each Thread inside this context. */
export const threadContext = new AsyncLocalStorage<ThreadInfo>();

export function currentThread(): ThreadInfo {
  return threadContext.getStore() ?? outside;
}
