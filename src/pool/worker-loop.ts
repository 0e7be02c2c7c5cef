/**
 * The worker's half of a pool, shared by thread workers and child processes: it receives batches
 * of tasks, runs them one at a time in the order sent, and sends the results back in batches
 * (Python's `multiprocessing.pool.worker`, `concurrent.futures.process._process_worker`).
 *
 * A batch of synchronous tasks runs in one go, with no promise per task; the results go back in
 * one message at the end of the batch. When a task returns a promise the loop first sends the
 * results it holds (so nobody waits on them while it awaits), then resumes after the promise.
 * Before each task it notes in its journal (task-journal.ts) which task that is and the results
 * not sent yet, so that a task that kills the worker takes no other task's result with it.
 */
import { decodeAsync, decodeMaybeAsync, encode, encodeThrown, type Destination } from '../internal/codec.ts';
import { loadTarget, type TargetRef } from '../internal/target.ts';
import { CancelledError, NotCloneableError } from '../errors.ts';
import { TimeoutError } from '../errors.ts';
import { abortTask, enterTask, leaveTask } from './current-task.ts';
import { Mode, RESULT_STRIDE, Status, TASK_STRIDE, type FromPoolWorker, type ToPoolWorker } from './worker-messages.ts';
import { TRACING, traceFlush } from '../trace/hooks.ts';
import type { TaskJournal } from './task-journal.ts';

/**
 * How long a worker runs batches back to back before it lets its event loop turn (timers, I/O,
 * the pool's messages such as an abort): a user's task may have set a timer or started a write.
 * Node hands a worker the messages that arrive while it handles one in the same turn (up to
 * 1000), and a worker takes tasks from its hand-off slot (handoff.ts) without one, so without
 * this a caller sending one long task at a time would hold that loop for as long as it goes on.
 */
const MAX_TURN_MS = 1;
/** How many tasks a worker takes from its hand-off slot in a row before it lets its event loop turn, however short. */
const MAX_SLOT_TASKS_PER_TURN = 64;

/** Calls `fn` once this thread's event loop has turned: an immediate set from an immediate runs in the next turn, after that turn's timers and I/O. */
export function afterTurn(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

/** The worker has taken `taken` tasks from its slot since its event loop turned at `began`: time to let it turn again. */
export function turnIsOver(began: number, taken: number): boolean {
  return taken >= MAX_SLOT_TASKS_PER_TURN || performance.now() - began >= MAX_TURN_MS;
}

/**
 * An entry of this worker's function table: the function, or why it could not be loaded (the
 * tasks that call it fail with that). Indices are the pool's (function-table.ts).
 */
type RegisteredFunction = { fn: Function } | { error: unknown };

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/** A worker's loop: what to do with each message, and whether it has nothing left to run. */
export interface WorkerLoop {
  onMessage(message: ToPoolWorker): void;
  /** No batch queued or running, and no task awaiting a promise. */
  idle(): boolean;
  /** Notes tasks and unsent results in `journal` from now on (given with the `init` message). */
  useJournal(journal: TaskJournal): void;
}

export function startWorkerLoop(dest: Destination, post: (message: FromPoolWorker) => void, onInit: (name: string) => void): WorkerLoop {
  const fns: RegisteredFunction[] = [];
  let loading: Promise<void> | undefined;
  const batches: unknown[][] = [];
  let pos = 0;
  let busy = false;
  let out: unknown[] = [];
  /** When the first task whose result is not sent yet started; -1 when none. */
  let since = -1;
  const skipped = new Set<number>();
  let journal: TaskJournal | undefined;
  /** How much of `out` is in the journal. */
  let kept = 0;
  /** A result did not fit in the journal (or v8 could not write it): none more is noted until the next message. */
  let journalFull = false;

  const flush = () => {
    if (out.length === 0) return;
    if (TRACING) traceFlush();
    const message: FromPoolWorker = { type: 'results', r: out, us: Math.round((performance.now() - since) * 1000) };
    try {
      post(message);
    } catch (err) {
      // A result structured clone refuses (a Proxy the codec passed on as it is): its task fails, not the worker.
      if (!refuseUncloneable(out, dest)) throw err;
      post(message);
    }
    out = [];
    kept = 0;
    journalFull = false;
    journal?.clear();
    since = -1;
  };

  /**
   * Before a task starts: the results not sent yet go into the journal. One that does not fit
   * (a large result) stops the noting until the batch's message, rather than sending a message
   * of its own, which would cost every such task the batching. Should the worker then die, those
   * tasks fail saying they ran (the pool knows they started), and none is run again.
   */
  const keep = (j: TaskJournal) => {
    if (journalFull) return;
    for (; kept < out.length; kept += RESULT_STRIDE) {
      if (!j.record(out[kept] as number, out[kept + 1] as number, out[kept + 2])) {
        journalFull = true;
        return;
      }
    }
  };

  const ok = (id: number, value: unknown) => {
    if (value === undefined || value === null || typeof value !== 'object') out.push(id, Status.OK, value);
    else {
      try {
        out.push(id, Status.OK | Status.ENCODED, encode(value, 'result', dest));
      } catch (err) {
        out.push(id, Status.ERROR, encodeThrown(err, dest));
      }
    }
  };
  const failed = (id: number, err: unknown) => out.push(id, Status.ERROR, encodeThrown(err, dest));

  /** Starts one task; returns a promise when it did not finish synchronously. */
  const call = (entry: RegisteredFunction, mode: number, payload: unknown): unknown => {
    if ('error' in entry) throw entry.error;
    if (mode & Mode.ENCODED) {
      const decoded = decodeMaybeAsync(payload);
      if (decoded instanceof Promise) return decoded.then((p) => call(entry, mode & ~Mode.ENCODED, p));
      payload = decoded;
    }
    const fn = entry.fn;
    if (mode & Mode.ONE) return fn(payload);
    switch (mode & 3) {
      case Mode.CALL:
        return fn(...(payload as unknown[]));
      case Mode.MAP:
        return each(payload as unknown[], (item) => fn(item));
      default:
        return each(payload as unknown[][], (args) => fn(...args));
    }
  };

  /** When this thread's current stretch of batches began, if its event loop has not turned since; -1 once it has. */
  let stretchBegan = -1;
  /** True when the stretch has lasted MAX_TURN_MS; the first call of a stretch starts it. */
  const overStretch = (): boolean => {
    const now = performance.now();
    if (stretchBegan < 0) {
      stretchBegan = now;
      setImmediate(() => (stretchBegan = -1));
      return false;
    }
    return now - stretchBegan >= MAX_TURN_MS;
  };
  const pumpAfterTurn = () => afterTurn(pump);

  const pump = (): void => {
    busy = true;
    while (batches.length > 0) {
      if (loading) {
        void loading.then(pump);
        return;
      }
      // At a batch boundary only; `busy` stays set meanwhile, so no batch overtakes another.
      if (pos === 0 && overStretch()) return void pumpAfterTurn();
      const b = batches[0]!;
      if (since < 0) since = performance.now();
      for (; pos < b.length; pos += TASK_STRIDE) {
        const id = b[pos] as number;
        if (skipped.size > 0 && skipped.delete(id)) {
          out.push(id, Status.SKIPPED, undefined);
          continue;
        }
        if (journal) {
          if (kept < out.length) keep(journal);
          journal.begin(id);
        }
        const entry = fns[b[pos + 1] as number]!;
        enterTask(id);
        let r: unknown;
        try {
          r = call(entry, b[pos + 2] as number, b[pos + 3]);
        } catch (err) {
          leaveTask();
          failed(id, err);
          continue;
        }
        if (isThenable(r)) {
          pos += TASK_STRIDE;
          flush();
          since = performance.now(); // the pool sizes batches by time per task, awaits included
          // Through a real promise: a thenable that calls back twice, or throws, must not run pump twice.
          Promise.resolve(r).then(
            (v) => (leaveTask(), ok(id, v), pump()),
            (e: unknown) => (leaveTask(), failed(id, e), pump()),
          );
          return;
        }
        leaveTask();
        ok(id, r);
      }
      batches.shift();
      pos = 0;
      flush();
    }
    // Idle with nothing queued: an abort for a task not met yet came after the task had ended.
    skipped.clear();
    busy = false;
  };

  const load = (refs: TargetRef[]) => {
    const base = fns.length;
    for (let i = 0; i < refs.length; i++) fns.push({ error: undefined });
    const previous = loading ?? Promise.resolve();
    const mine: Promise<void> = previous.then(() =>
      Promise.all(
        refs.map((ref, i) =>
          loadTarget(ref).then(
            (fn) => void (fns[base + i] = { fn }),
            (error: unknown) => void (fns[base + i] = { error }),
          ),
        ),
      ).then(() => {
        if (loading === mine) loading = undefined;
      }),
    );
    loading = mine;
  };

  const init = async (message: Extract<ToPoolWorker, { type: 'init' }>) => {
    onInit(message.name);
    try {
      if (message.initializer) {
        const fn = await loadTarget(message.initializer);
        const args = (await decodeAsync(message.initargs)) as unknown[];
        await fn(...args);
      }
    } catch (err) {
      post({ type: 'init-failed', error: encodeThrown(err, dest) });
      return;
    }
    post({ type: 'ready' });
  };

  const onMessage = (message: ToPoolWorker): void => {
    switch (message.type) {
      case 'run':
        if (message.fns) load(message.fns);
        batches.push(message.b);
        if (!busy) pump();
        break;
      case 'abort': {
        const reason =
          message.why === 'timeout' ? new TimeoutError(`The task ran past its timeoutMs.`) : new CancelledError('The task was cancelled by the pool.');
        if (!abortTask(message.id, reason)) skipped.add(message.id);
        break;
      }
      case 'init':
        void init(message);
        break;
    }
  };
  return { onMessage, idle: () => !busy && batches.length === 0, useJournal: (j) => void (journal = j) };
}

/** Turns each result of `r` that structured clone refuses into its task's NotCloneableError; false when none is to blame. */
function refuseUncloneable(r: unknown[], dest: Destination): boolean {
  let found = false;
  for (let i = 0; i < r.length; i += RESULT_STRIDE) {
    try {
      structuredClone(r[i + 2]);
    } catch (cause) {
      found = true;
      r[i + 1] = Status.ERROR;
      r[i + 2] = encodeThrown(
        new NotCloneableError(
          'result',
          `The task's result cannot be sent back to the pool (${(cause as Error).message}); return plain values, not proxies or functions.`,
        ),
        dest,
      );
    }
  }
  return found;
}

/** Runs `fn` over a chunk's items one at a time, awaiting only the results that are promises. */
function each<T>(items: T[], fn: (item: T) => unknown): unknown {
  const results: unknown[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const r = fn(items[i]!);
    if (isThenable(r)) {
      return (async () => {
        results[i] = await r;
        for (let j = i + 1; j < items.length; j++) results[j] = await fn(items[j]!);
        return results;
      })();
    }
    results[i] = r;
  }
  return results;
}
