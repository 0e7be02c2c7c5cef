/**
 * `trace`: record who waited for and held what, across every Thread and Process of a program,
 * as Chrome trace-event JSON (Perfetto, `chrome://tracing`, or `threadkit trace view`).
 *
 * ```ts
 * import { trace } from 'threadkit';
 * trace.start({ path: 'run.json' });
 * await trace.span('load', () => load());
 * trace.mark('loaded');
 * await trace.stop();
 * ```
 * Or trace a whole program without changing it: `THREADKIT_TRACE=run.json node app.ts`.
 */
import { InvalidArgumentError } from '../errors.ts';
import { TRACING, complete, flush as flushThread, instant, nowUs } from './recorder.ts';
import { isTracing, start, stop, type TraceResult, type TraceStartOptions } from './session.ts';

function checkName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || name === '')
    throw new InvalidArgumentError(`${what}: expected \`name\` to be a non-empty string, got ${JSON.stringify(name)} (${typeof name}).`);
}

/** A moment on the current thread's track, with optional details shown on hover. No-op when not tracing. */
function mark(name: string, args?: Record<string, unknown>): void {
  checkName(name, 'trace.mark()');
  if (TRACING) instant('mark', name, args);
}

/**
 * Runs `fn` as a span on the current thread's track and returns what it returns (a promise is
 * awaited for the span's end, and returned as is). When not tracing it only calls `fn`.
 */
function span<T>(name: string, fn: () => T, args?: Record<string, unknown>): T {
  checkName(name, 'trace.span()');
  if (typeof fn !== 'function') throw new InvalidArgumentError(`trace.span(): expected \`fn\` to be a function, got ${typeof fn}.`);
  if (!TRACING) return fn();
  const begin = nowUs();
  let result: T;
  try {
    result = fn();
  } catch (err) {
    complete('mark', name, begin, nowUs(), { ...args, threw: String((err as Error)?.message ?? err) });
    throw err;
  }
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    (result as unknown as PromiseLike<unknown>).then(
      () => complete('mark', name, begin, nowUs(), args),
      (err: unknown) => complete('mark', name, begin, nowUs(), { ...args, threw: String((err as Error)?.message ?? err) }),
    );
  } else {
    complete('mark', name, begin, nowUs(), args);
  }
  return result;
}

/** Writes this thread's buffered events to the trace directory now (they are also written every 100 ms and when a Thread ends). */
function flush(): void {
  flushThread();
}

export const trace = {
  start,
  stop,
  mark,
  span,
  flush,
  /** Whether this thread records now. */
  get enabled(): boolean {
    return isTracing();
  },
};

export type { TraceResult, TraceStartOptions };
export type { TraceEvent, TraceFile } from './format.ts';
export { traceProblems } from './format.ts';
