/**
 * What the primitives and the runtime call, each from one line guarded by `TRACING`:
 *
 * ```ts
 * acquire(options) {
 *   if (TRACING && enterTrace(this)) return traceAcquire(this, 'Lock', this.acquire(options));
 *   … // untouched: the fast path is the first thing that runs when tracing is off
 * }
 * release() {
 *   if (TRACING) traceRelease(this);
 * ```
 *
 * A wrapping hook calls the method it sits in again: `enterTrace(this)` returns true, the inner
 * call's `enterTrace(this)` returns false, so the inner call runs the method's own body. The
 * inner call begins with that very line, so nothing runs between the two. Blocking (`…Sync`)
 * methods use `enterTraceSync`, which also notes the time the call began.
 *
 * A wait is recorded only when the call had to wait: for a promise, when it was not already
 * settled as returned (the fast paths return a settled promise); for a blocking `…Sync` call,
 * when it took longer than {@link SYNC_WAIT_US}. A hold lasts from an acquire that succeeded to
 * the matching release in the same thread (the release of a `Lock` by another thread ends the
 * hold there as a `release` moment instead).
 */
import { TRACING, complete, epoch, flush, instant, intern, nameTrack, nowUs, record, track } from './recorder.ts';

export { TRACING };

/** A blocking call faster than this (µs) is taken not to have waited: the fast path, a few spins. */
export const SYNC_WAIT_US = 2;

let entering: object | undefined;
let enteredAt = 0;

/** See the module docs: true on the outer call, false on the inner one. */
export function enterTrace(target: object): boolean {
  if (entering === target) {
    entering = undefined;
    return false;
  }
  entering = target;
  return true;
}

/** As {@link enterTrace} for a blocking method: notes the time, as the call may block before it returns. */
export function enterTraceSync(target: object): boolean {
  if (entering === target) {
    entering = undefined;
    return false;
  }
  entering = target;
  enteredAt = nowUs();
  return true;
}

/** What tracing keeps on a primitive: its event kinds for this session, and its open holds. */
interface TraceState {
  epoch: number;
  label: string;
  wait: number;
  hold: number;
  /** Open holds of this thread, in acquire order: start (µs) and track, two numbers each. */
  holds: number[];
}

const kTrace = Symbol('threadkit.trace');
type Traced = object & { [kTrace]?: TraceState };

function stateOf(target: Traced, label: string): TraceState {
  let state = target[kTrace];
  if (state === undefined || state.epoch !== epoch) {
    state = { epoch, label, wait: intern('X', 'wait', `wait ${label}`), hold: intern('X', 'hold', `hold ${label}`), holds: [] };
    target[kTrace] = state;
  }
  return state;
}

/** Ends the newest hold of `target` made by the current track, else its oldest (a Lock released by another task). */
export function traceRelease(target: object): void {
  const state = (target as Traced)[kTrace];
  const holds = state?.epoch === epoch ? state.holds : undefined;
  if (!holds || holds.length === 0) {
    instant('hold', `release ${target.constructor.name}`);
    return;
  }
  let i = holds.length - 2;
  if (i > 0) {
    const k = track();
    while (i > 0 && holds[i + 1] !== k) i -= 2;
  }
  const start = holds[i]!;
  const k = holds[i + 1]!;
  if (i === holds.length - 2) holds.length = i;
  else holds.splice(i, 2);
  record(state!.hold, start, nowUs() - start, k);
}

function outcome(value: unknown): string {
  return value === false ? 'timed out' : 'acquired';
}

/**
 * Wraps an acquire: a `wait` span when it had to wait, then a hold when it succeeded. `label`
 * names the primitive (`Lock "accounts"`); `settled` is the promise the primitive's fast path
 * returns, so that an acquire that did not wait costs no promise reaction. Returns `result`
 * itself, so the caller's promise is the primitive's.
 */
export function traceAcquire(target: object, label: string, result: Promise<boolean>, settled?: Promise<boolean>): Promise<boolean> {
  entering = undefined;
  // Taken once the call returned: its synchronous part (a try, a few spins) is not the wait.
  const start = nowUs();
  const state = stateOf(target as Traced, label);
  const k = track();
  if (result === settled) {
    state.holds.push(start, k);
    return result;
  }
  let settledAtOnce = true;
  // A promise settled as returned runs this callback before the microtask queued after it.
  result.then(
    (ok) => {
      const end = nowUs();
      if (!settledAtOnce) record(state.wait, start, end - start, k, { result: outcome(ok) });
      if (ok) state.holds.push(end, k);
    },
    (err: unknown) => {
      const end = nowUs();
      record(state.wait, start, end - start, k, { result: 'failed', error: String((err as Error)?.message ?? err) });
    },
  );
  queueMicrotask(() => (settledAtOnce = false));
  return result;
}

/** As {@link traceAcquire} for a blocking acquire that returned `ok`. */
export function traceAcquireSync(target: object, label: string, ok: boolean): boolean {
  entering = undefined;
  const start = enteredAt;
  const state = stateOf(target as Traced, label);
  const k = track();
  if (!ok) {
    record(state.wait, start, nowUs() - start, k, { result: outcome(ok) });
    return ok;
  }
  const end = nowUs();
  if (end - start > SYNC_WAIT_US) {
    record(state.wait, start, end - start, k, { result: outcome(ok) });
    state.holds.push(end, k);
  } else {
    state.holds.push(start, k);
  }
  return ok;
}

/** Wraps a wait that holds nothing afterwards (`Condition.wait`, `Queue.get`/`put`): a `wait` span when it waited. */
export function traceWait<T>(target: object, label: string, result: Promise<T>): Promise<T> {
  entering = undefined;
  void target;
  const start = nowUs();
  const k = track();
  let settledAtOnce = true;
  result.then(
    (value) => {
      if (!settledAtOnce) complete('wait', `wait ${label}`, start, nowUs(), { result: value === false ? 'timed out' : 'done' }, k);
    },
    (err: unknown) => {
      complete('wait', `wait ${label}`, start, nowUs(), { result: 'failed', error: String((err as Error)?.message ?? err) }, k);
    },
  );
  queueMicrotask(() => (settledAtOnce = false));
  return result;
}

/** As {@link traceWait} for a blocking call that returned `value`. */
export function traceWaitSync<T>(target: object, label: string, value: T): T {
  entering = undefined;
  void target;
  const start = enteredAt;
  const end = nowUs();
  if (end - start > SYNC_WAIT_US) complete('wait', `wait ${label}`, start, end, { result: value === false ? 'timed out' : 'done' });
  return value;
}

// ---- lifetimes ---------------------------------------------------------------------------------

/** Parent side: a Thread or Process was started (`kind` 'Thread' | 'Process'). */
export function traceStart(kind: string, name: string): void {
  instant('lifetime', `start ${name}`, { kind });
}

/** Parent side: a Thread or Process ended with `exitCode`. */
export function traceExit(kind: string, name: string, exitCode: number): void {
  instant('lifetime', `exit ${name}`, { kind, exitCode });
}

const running = new Map<string | number, { start: number; name: string; k: number }>();

/** Child side: the target's first line is about to run. `key` names the run; `k` is its Thread's ident (0 in a Process). */
export function traceRunBegin(key: string | number, name: string, k = 0): void {
  nameTrack(k, name);
  running.set(key, { start: nowUs(), name, k });
}

/** Child side: the run ended (`ok`: returned); the span is written to the file at once, before the parent hears. */
export function traceRunEnd(key: string | number, ok: boolean): void {
  const run = running.get(key);
  running.delete(key);
  if (run) complete('lifetime', `run ${run.name}`, run.start, nowUs(), { ok }, run.k);
  flush();
}

/** As {@link traceRunEnd} once `pending` (what the target returned) settles; settles as it does. */
export function traceRunSettled(key: string | number, pending: unknown): Promise<unknown> {
  return Promise.resolve(pending).then(
    (value) => (traceRunEnd(key, true), value),
    (err: unknown) => {
      traceRunEnd(key, false);
      throw err;
    },
  );
}

/** Pool, submitting side: a task was queued. */
export function traceTaskQueued(id: number): void {
  instant('pool', `queued task ${id}`, { id });
}

let taskStart = 0;
let taskId = 0;

/** Pool worker: task `id` starts running. */
export function traceTaskBegin(id: number): void {
  taskStart = nowUs();
  taskId = id;
}

/** Pool worker: the running task is done (returned, threw or its promise settled). */
export function traceTaskEnd(): void {
  if (taskId !== 0) complete('pool', `task ${taskId}`, taskStart, nowUs(), { id: taskId });
  taskId = 0;
}

/** Pool worker: writes this thread's events before the results go back, as a pool stops idle workers without letting them run again. */
export function traceFlush(): void {
  flush();
}
