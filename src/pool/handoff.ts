/**
 * The hand-off slot of one pool worker: 1 KiB of memory the pool and the worker share (a
 * SharedArrayBuffer for a thread, /dev/shm for a child process, see src/internal/shm.ts). While
 * one side is awake and watching, the other passes it a single task, or a single task's result,
 * by writing it here, with no message and no trip through either event loop. Everything else
 * (batches, functions not registered yet, objects, errors, a side that is asleep) goes as a
 * message (worker-messages.ts), as before.
 *
 * Cells, as Int32 words at the start of the slot:
 *
 * - `TASK_BELL`: the pool bumps it just before it sends each `run` message, so a child watching
 *   the slot can tell a message is on its way (it cannot read its IPC channel synchronously);
 * - `RESULT_BELL`: the worker bumps it after each `results` message it sends, so the pool,
 *   watching for a result, can tell it will come by message instead;
 * - `TASK_STATE`, `RESULT_STATE`: who may write the task area and the result area (below);
 * - `RESULTS_READ`: how many `results` messages the pool has handled. A worker writes a result
 *   into the slot only when every result it sent before by message has been handled, so the
 *   pool always gets a worker's results in the order the tasks ran.
 *
 * Each area goes `EMPTY ──(the reader opens it)──▶ OPEN ──(the writer fills it)──▶ POSTED ──(the
 * reader takes it)──▶ EMPTY`. Only the reader (the worker for tasks, the pool for results)
 * opens and closes; the writer writes the area only while it is OPEN and then swaps OPEN for
 * POSTED, so a reader that closes first (`OPEN → EMPTY`) never misses a post nor takes a half-
 * written one: whichever swap comes first decides, and a failed post falls back to a message.
 *
 * Why: a message between two threads of one process costs a few microseconds each way, between
 * two processes 20-70 µs, plus waking the other event loop; a slot watched by a spinning side is
 * read within a microsecond. Both sides watch only for a bounded moment right after work
 * (HANDOFF_SPIN_MS), so an idle pool spins nowhere.
 */
import { add, compareExchange, load, pause, store, type Cell } from '../internal/atomics.ts';
import { builtin } from '../internal/builtin.ts';
import { HANDOFF_SPIN_MS, Mode, RESULT_STRIDE, Status } from './worker-messages.ts';

export const TASK_BELL = 0;
export const RESULT_BELL = 1;
const TASK_STATE = 2;
const RESULT_STATE = 3;
const RESULTS_READ = 4;

const EMPTY = 0;
const OPEN = 1;
const POSTED = 2;

const HEADER_BYTES = 32;
/** Bytes of each area: an id, two words, then the values. */
const AREA_BYTES = 496;
export const HANDOFF_BYTES = HEADER_BYTES + 2 * AREA_BYTES;

/** Where a child process finds its slot: the /dev/shm file and the offset in it. */
export interface HandoffRef {
  path: string;
  size: number;
  byteOffset: number;
}

// A value in an area: an Int32 tag, an Int32 length (strings), then 8 bytes (a number) or the
// string's UTF-16 code units (exact for any string, lone surrogates included). The crash
// journal (task-journal.ts) tags its values with the same words.
export const UNDEFINED = 0;
export const NULL = 1;
export const FALSE = 2;
export const TRUE = 3;
export const NUMBER = 4;
export const STRING = 5;
/** Where the values start in an area, and the word before them that counts the arguments of a CALL (-1: `Mode.ONE`, the payload itself). */
const VALUES = 24;

/** One area's views: Int32 and Float64 words and its bytes. */
class Area {
  readonly i32: Int32Array<ArrayBufferLike>;
  readonly f64: Float64Array<ArrayBufferLike>;
  readonly bytes: Buffer;

  constructor(buffer: ArrayBufferLike, byteOffset: number) {
    this.i32 = new Int32Array(buffer, byteOffset, AREA_BYTES / 4);
    this.f64 = new Float64Array(buffer, byteOffset, AREA_BYTES / 8);
    this.bytes = Buffer.from(buffer as ArrayBuffer, byteOffset, AREA_BYTES);
  }

  /** Writes `v` at byte `at` (8-aligned); the next free byte, or -1 when it is not a value an area holds or it does not fit. */
  write(at: number, v: unknown): number {
    if (at + 16 > AREA_BYTES) return -1;
    const word = at >> 2;
    switch (typeof v) {
      case 'number':
        this.i32[word] = NUMBER;
        this.f64[(at >> 3) + 1] = v;
        return at + 16;
      case 'string': {
        const n = v.length * 2;
        if (at + 8 + n > AREA_BYTES) return -1;
        this.i32[word] = STRING;
        this.i32[word + 1] = n;
        this.bytes.write(v, at + 8, n, 'utf16le');
        return at + 8 + ((n + 7) & ~7);
      }
      case 'boolean':
        this.i32[word] = v ? TRUE : FALSE;
        return at + 8;
      case 'undefined':
        this.i32[word] = UNDEFINED;
        return at + 8;
      default:
        if (v !== null) return -1;
        this.i32[word] = NULL;
        return at + 8;
    }
  }

  /** Reads the value at byte `at` into `this.value`; returns the next byte. */
  read(at: number): number {
    const word = at >> 2;
    switch (this.i32[word]) {
      case NUMBER:
        this.value = this.f64[(at >> 3) + 1];
        return at + 16;
      case STRING: {
        const n = this.i32[word + 1]!;
        this.value = this.bytes.toString('utf16le', at + 8, at + 8 + n);
        return at + 8 + ((n + 7) & ~7);
      }
      case TRUE:
        this.value = true;
        return at + 8;
      case FALSE:
        this.value = false;
        return at + 8;
      case NULL:
        this.value = null;
        return at + 8;
      default:
        this.value = undefined;
        return at + 8;
    }
  }

  /** The last value `read`. */
  value: unknown = undefined;
}

/**
 * The longest a worker watches its slot after work (`taskMessage`). Waking an idle core took
 * 150-300 µs on the 2-core VMs the bench runs on, so twice that covers a caller who woke up.
 * A process allowed one core never lengthens it: there the watch only keeps the caller waiting.
 */
let maxWatchMs = -1;
const maxWatch = (): number => (maxWatchMs >= 0 ? maxWatchMs : (maxWatchMs = builtin('node:os').availableParallelism() > 1 ? 0.5 : HANDOFF_SPIN_MS));

/**
 * After a lengthened watch ran out with the task right behind it (a sign that the caller shares
 * the worker's core), this many late messages keep the watch at HANDOFF_SPIN_MS.
 */
const HOLD_WATCH_MESSAGES = 16;

/** Moves the clock check out of the inner loop: it is read once per this many looks. */
const LOOKS = 64;

/** What this thread's pools passed through slots, counted for threadkit's tests: tasks posted, results taken. */
export const handedOff = { tasks: 0, results: 0 };

export class Handoff {
  /** The header's words (the cells above). */
  readonly cells: Cell;
  readonly #task: Area;
  readonly #result: Area;

  constructor(buffer: ArrayBufferLike, byteOffset: number) {
    this.cells = new Int32Array(buffer, byteOffset, HEADER_BYTES / 4);
    this.#task = new Area(buffer, byteOffset + HEADER_BYTES);
    this.#result = new Area(buffer, byteOffset + HEADER_BYTES + AREA_BYTES);
  }

  /** Every word back to 0, for a slot handed to a new worker. */
  reset(): void {
    for (let i = 0; i < HEADER_BYTES / 4; i++) store(this.cells, i, 0);
  }

  // ---- the pool's side ---------------------------------------------------------------------

  /**
   * Passes one task to the worker if it is watching the slot and the payload fits (primitives:
   * the one argument of `Mode.ONE`, or the arguments of a plain CALL). False when nothing was
   * passed: send it as a message.
   */
  offerTask(id: number, fn: number, mode: number, payload: unknown): boolean {
    if (load(this.cells, TASK_STATE) !== OPEN) return false;
    const a = this.#task;
    let at = VALUES;
    if (mode === (Mode.CALL | Mode.ONE)) {
      a.i32[(VALUES >> 2) - 2] = -1;
      at = a.write(at, payload);
    } else if (mode === Mode.CALL) {
      const args = payload as unknown[];
      a.i32[(VALUES >> 2) - 2] = args.length;
      for (let i = 0; i < args.length && at >= 0; i++) at = a.write(at, args[i]);
    } else return false;
    if (at < 0) return false;
    a.f64[0] = id;
    a.i32[2] = fn;
    a.i32[3] = mode;
    if (compareExchange(this.cells, TASK_STATE, OPEN, POSTED) !== OPEN) return false;
    handedOff.tasks++;
    return true;
  }

  /**
   * Opens the result area, before the pool sends a small batch (or posts a task): a worker quick
   * enough to answer before the pool would otherwise get there still answers through it. The
   * pool closes it (`awaitResult`, `closeResults`) before it returns to its event loop. An area
   * already open stays so, and one holding a result keeps it: only EMPTY becomes OPEN (the pool
   * may send a worker a second batch before it has closed the area it opened for the first).
   */
  openResults(): void {
    compareExchange(this.cells, RESULT_STATE, EMPTY, OPEN);
  }

  /**
   * Watches the open result area for up to `ms`, then closes it: `'slot'` when a result came
   * through it (it is then in `taken`), `'rang'` when the worker sent a `results` message
   * instead (`RESULT_BELL` moved past `rungBefore`), `'missed'` when neither came in time.
   */
  awaitResult(ms: number, rungBefore: number): 'slot' | 'rang' | 'missed' {
    const cells = this.cells;
    const until = performance.now() + ms;
    let rang = false;
    watch: do {
      for (let n = 0; n < LOOKS; n++) {
        if (load(cells, RESULT_STATE) === POSTED) break watch;
        if (load(cells, RESULT_BELL) !== rungBefore) {
          rang = true;
          break watch;
        }
        pause();
      }
    } while (performance.now() < until);
    return this.closeResults() ? 'slot' : rang ? 'rang' : 'missed';
  }

  /** Closes the result area; true when a result had been posted in it (it is then in `taken`). */
  closeResults(): boolean {
    if (compareExchange(this.cells, RESULT_STATE, OPEN, EMPTY) !== POSTED) return false;
    this.#readResult();
    store(this.cells, RESULT_STATE, EMPTY);
    handedOff.results++;
    return true;
  }

  /** The result `awaitResult` took, as one entry of a `results` batch, and the worker's busy µs. */
  readonly taken: { r: unknown[]; us: number } = { r: [0, 0, undefined], us: 0 };

  #readResult(): void {
    const a = this.#result;
    a.read(VALUES);
    this.taken.r = [a.f64[0], a.i32[2], a.value];
    this.taken.us = a.i32[3]!;
  }

  /** `results` messages of this worker the pool has handled (`RESULTS_READ`), wrapping as that Int32 word does. */
  #read = 0;

  /** The pool has handled one more `results` message of this worker. */
  resultsRead(): void {
    this.#read = (this.#read + 1) | 0;
    store(this.cells, RESULTS_READ, this.#read);
  }

  // ---- the worker's side -------------------------------------------------------------------

  /** How long the worker watches its task area after work (`taskMessage`). */
  #watchMs = HANDOFF_SPIN_MS;
  /** When its last watch ran out with nothing; -1 once a message came after it. */
  #gaveUpAt = -1;
  /** Late messages still to come before a watch may lengthen again (HOLD_WATCH_MESSAGES). */
  #holdWatch = 0;

  /**
   * The worker got a `run` message. One that comes soon after a watch ran out lengthens the
   * next watches to twice that gap (up to `maxWatch()`): a caller whose next task came late by
   * a GC pause, or by its own wake-up on a machine whose idle cores are slow to wake, then
   * finds the worker still watching, not asleep. One that comes later shortens them back to
   * HANDOFF_SPIN_MS, so a worker given a task now and then spins as little as before.
   */
  taskMessage(): void {
    if (this.#gaveUpAt < 0) return;
    const gap = performance.now() - this.#gaveUpAt;
    this.#gaveUpAt = -1;
    const max = maxWatch();
    if (gap >= max) this.#watchMs = HANDOFF_SPIN_MS;
    else if (this.#watchMs > HANDOFF_SPIN_MS && gap < this.#watchMs / 4) {
      // A longer watch ran out too, and the task came right after it: the caller most likely
      // shares this core, and the watch only kept it from running.
      this.#watchMs = HANDOFF_SPIN_MS;
      this.#holdWatch = HOLD_WATCH_MESSAGES;
    } else if (this.#holdWatch > 0) this.#holdWatch--;
    else this.#watchMs = Math.min(max, Math.max(2 * gap, 2 * this.#watchMs));
  }

  /**
   * Opens the task area and watches it for the worker's watch time (`taskMessage`), or until
   * `interrupted()` (a message is waiting), then closes it. Returns the task posted meanwhile,
   * as a `run` batch of one, or undefined: none came.
   */
  nextTask(interrupted: () => boolean): unknown[] | undefined {
    const cells = this.cells;
    store(cells, TASK_STATE, OPEN);
    let now = performance.now();
    const until = now + this.#watchMs;
    let stopped = false;
    watch: do {
      for (let n = 0; n < LOOKS; n++) {
        if (load(cells, TASK_STATE) === POSTED) break watch;
        if (interrupted()) {
          stopped = true;
          break watch;
        }
        pause();
      }
      now = performance.now();
    } while (now < until);
    if (compareExchange(cells, TASK_STATE, OPEN, EMPTY) !== POSTED) {
      this.#gaveUpAt = stopped ? -1 : now;
      return undefined;
    }
    const b = this.#readTask();
    store(cells, TASK_STATE, EMPTY);
    return b;
  }

  #readTask(): unknown[] {
    const a = this.#task;
    const count = a.i32[(VALUES >> 2) - 2]!;
    let payload: unknown;
    if (count < 0) {
      a.read(VALUES);
      payload = a.value;
    } else {
      const args = new Array<unknown>(count);
      for (let i = 0, at = VALUES; i < count; i++) {
        at = a.read(at);
        args[i] = a.value;
      }
      payload = args;
    }
    return [a.f64[0], a.i32[2], a.i32[3], payload];
  }

  /** `results` messages this worker has sent (`resultsSent`), wrapping as `RESULTS_READ` does. */
  #sent = 0;

  /**
   * Passes a `results` batch to the pool if it holds one plain result, the pool is watching, and
   * it has handled every results message this worker sent before. False: send the message, then
   * call `resultsSent`.
   */
  offerResult(r: unknown[], us: number): boolean {
    if (r.length !== RESULT_STRIDE || r[1] !== Status.OK) return false;
    const cells = this.cells;
    if (load(cells, RESULT_STATE) !== OPEN || load(cells, RESULTS_READ) !== this.#sent) return false;
    const a = this.#result;
    if (a.write(VALUES, r[2]) < 0) return false;
    a.f64[0] = r[0] as number;
    a.i32[2] = Status.OK;
    a.i32[3] = Math.min(us, 0x7fffffff);
    return compareExchange(cells, RESULT_STATE, OPEN, POSTED) === OPEN;
  }

  /** The worker sent a `results` message: counts it, and rings `RESULT_BELL` for a pool watching for it. */
  resultsSent(): void {
    this.#sent = (this.#sent + 1) | 0;
    add(this.cells, RESULT_BELL, 1);
  }
}
