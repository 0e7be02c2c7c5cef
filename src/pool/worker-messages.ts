/**
 * The messages between a pool and its workers (thread or process alike): the one channel of
 * src/pool/dispatcher.ts ⇄ src/pool/worker-loop.ts. Every message is tagged by `type`, as in
 * threadkit's other protocols.
 *
 * Tasks travel in batches: one `run` message carries many tasks as one flat array
 * `[id, fn, mode, payload, id, fn, mode, payload, …]`, and results come back the same way,
 * `[id, status, value, …]`. A flat array of numbers and values clones much faster than an array
 * of small objects, and one message per batch instead of per task is what makes tiny tasks cheap.
 */
import type { ExportRef } from '../internal/target.ts';
import type { HandoffRef } from './handoff.ts';

/** Fields per task in a `run` batch: id, function index, mode, payload. */
export const TASK_STRIDE = 4;
/** Fields per result in a `results` batch: id, status, value. */
export const RESULT_STRIDE = 3;

/** How the worker calls the function. The low bits pick the call; `ENCODED` says the payload went through the codec. */
export const Mode = {
  /** `fn(...payload)`: one call. */
  CALL: 0,
  /** `payload.map(item => fn(item))`: a chunk of `Pool.map`/`imap`, awaited one by one. */
  MAP: 1,
  /** `payload.map(args => fn(...args))`: a chunk of `Pool.starmap`. */
  STARMAP: 2,
  /** Flag: decode the payload with the codec (it holds objects). Plain primitives skip the codec. */
  ENCODED: 4,
  /** Flag on CALL: the payload is the one argument itself, a primitive (no array to clone per task). */
  ONE: 8,
} as const;

/** Outcome of one task in a `results` batch. */
export const Status = {
  OK: 0,
  ERROR: 1,
  /** The task was aborted before it started; the worker skipped it. */
  SKIPPED: 2,
  /** Flag on OK: the value went through the codec and must be decoded. */
  ENCODED: 4,
} as const;

/**
 * How long either side of a hand-off stays awake right after work, watching the worker's
 * hand-off slot (handoff.ts) for the other (a worker for its next task, the pool for a small
 * batch's results), before it sleeps in its event loop. Waking a sleeping thread or process on
 * another core costs 50-150 µs on machines whose cores go idle; a hand-off within the window
 * costs a few. Bounded, and only after work:
 * an idle pool spins nowhere.
 */
export const HANDOFF_SPIN_MS = 0.05;
/**
 * The largest batch after which a child process watches its slot and the pool waits for
 * the results: a caller awaiting one result at a time sends such batches. A pool pushing many
 * tiny tasks sends large ones, and there a spin would take CPU the other side needs.
 */
export const HANDOFF_BATCH_TASKS = 4;

export type ToPoolWorker =
  /**
   * First message: run the pool's initializer, then answer `ready`. `handoff`: the worker's slot
   * (handoff.ts), followed in the same memory by its journal (task-journal.ts): cells over a
   * SharedArrayBuffer for a thread, a /dev/shm reference for a child; none for a child without
   * /dev/shm.
   */
  | { type: 'init'; name: string; initializer?: ExportRef; initargs?: unknown; handoff?: HandoffRef | Int32Array<SharedArrayBuffer> }
  /**
   * A batch of tasks. `fns` lists functions this worker has not registered yet; they take the
   * next indices of its function table (see function-table.ts).
   */
  | { type: 'run'; fns?: ExportRef[]; b: unknown[] }
  /** Abort a task: its `currentTask().signal` fires if it runs, or it is skipped if not started yet. */
  | { type: 'abort'; id: number; why: 'cancel' | 'timeout' };

export type FromPoolWorker =
  | { type: 'ready' }
  | { type: 'init-failed'; error: unknown }
  /** Results in the order the tasks were sent; `us`: microseconds the worker was busy on them. */
  | { type: 'results'; r: unknown[]; us: number };
