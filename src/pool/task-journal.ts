/**
 * A pool worker's task journal: memory it shares with the pool (next to its hand-off slot,
 * handoff.ts) where it notes, before each task of a batch starts, which task that is and the
 * results of the batch's earlier tasks that it has not sent yet. A worker sends a batch's results
 * in one message at the end of the batch (worker-loop.ts), so when a task kills its worker (a
 * SIGKILL, `process.exit()`, a crash in native code, a kill after its cancel) the results of the
 * tasks before it would die with it, and the pool could not tell the task that was running from
 * those it never started. Shared memory outlives the worker: the pool reads the journal once the
 * worker has exited, and only then, so the two never touch it at the same time (no atomics).
 *
 * Python's pool workers send each result before they take the next task; a message per task is
 * what batching saves, and a note here costs tens of nanoseconds for a primitive, a few hundred
 * for a small object.
 *
 * Layout, in bytes: a Float64 at 0, the id of the task the worker is in or was last in (0: none
 * since the journal was reset); Int32 at 8, the entries; Int32 at 12, the bytes they take; the
 * entries from 16 on. An entry: Float64 task id, Int32 status (`Status`, worker-messages.ts), 4
 * bytes unused, then the value. A value: Int32 tag, Int32 length, then by tag: a Float64 (a
 * number); UTF-16 code units (a string, exact for any string); v8's serialization, as structured
 * clone's (a value of any other kind); `length` values (an array), or `length` pairs of a
 * string key and a value (a plain object); nothing (the other primitives). Everything starts
 * 8-aligned.
 */
import { builtin } from '../internal/builtin.ts';
import { FALSE, NULL, NUMBER, STRING, TRUE, UNDEFINED } from './handoff.ts';

/** Bytes of a journal: room for ~2700 numeric results or ~500 small objects; a batch that fills it sends what it holds as a message and goes on. */
export const JOURNAL_BYTES = 64 * 1024;

const COUNT = 2;
const USED = 3;
const ENTRIES = 16;

// The tags of handoff.ts's values, and three of the journal's own.
const SERIALIZED = 6;
const ARRAY = 7;
const OBJECT = 8;

/** Strings up to this many code units are copied unit by unit: for short ones that beats a call into Buffer. */
const SHORT_STRING = 32;
/** Objects and arrays in one value (each must appear once, as structured clone keeps shared ones shared) and how deep, before v8 serializes it instead. */
const MAX_OBJECTS = 256;
const MAX_DEPTH = 32;

/** What the journal held when its worker died. */
export interface JournalContents {
  /** The task the worker was in or last in; 0 when none since the reset. */
  running: number;
  /** Results not sent, in the order the tasks ran, as a `results` batch: `[id, status, value, …]`. */
  r: unknown[];
}

const pad8 = (n: number) => (n + 7) & ~7;

export class TaskJournal {
  readonly #i32: Int32Array<ArrayBufferLike>;
  readonly #f64: Float64Array<ArrayBufferLike>;
  readonly #u16: Uint16Array<ArrayBufferLike>;
  readonly #bytes: Buffer;
  /** Objects met in the value being written: the first `#seenCount` of `#seen`. */
  readonly #seen: Array<object | undefined> = [];
  #seenCount = 0;

  constructor(buffer: ArrayBufferLike, byteOffset: number) {
    this.#i32 = new Int32Array(buffer, byteOffset, JOURNAL_BYTES / 4);
    this.#f64 = new Float64Array(buffer, byteOffset, JOURNAL_BYTES / 8);
    this.#u16 = new Uint16Array(buffer, byteOffset, JOURNAL_BYTES / 2);
    this.#bytes = Buffer.from(buffer as ArrayBuffer, byteOffset, JOURNAL_BYTES);
  }

  /** Empties it and forgets the running task, for a new worker. */
  reset(): void {
    this.#f64[0] = 0;
    this.clear();
  }

  // ---- the worker's side -------------------------------------------------------------------

  /** Task `id` starts now. */
  begin(id: number): void {
    this.#f64[0] = id;
  }

  /** The results noted so far were sent as a message. */
  clear(): void {
    this.#i32[USED] = 0;
    this.#i32[COUNT] = 0;
  }

  /**
   * Notes one result; false when it does not fit or v8 cannot serialize it (the caller then
   * sends what it holds as a message). The count moves last, so a worker that dies while
   * writing an entry leaves the earlier ones whole.
   */
  record(id: number, status: number, value: unknown): boolean {
    const i32 = this.#i32;
    const at = ENTRIES + i32[USED]!;
    let end: number;
    if (typeof value === 'number') {
      // The common case of tiny tasks, inline.
      end = at + 32;
      if (end > JOURNAL_BYTES) return false;
      i32[(at >> 2) + 4] = NUMBER;
      this.#f64[(at >> 3) + 3] = value;
    } else {
      this.#seenCount = 0;
      end = this.#write(at + 16, value, 0);
      // Let go of the result's objects (a large one must not stay alive here).
      for (let k = 0; k < this.#seenCount; k++) this.#seen[k] = undefined;
      if (end === -2) end = this.#writeSerialized(at + 16, value);
      if (end < 0) return false;
    }
    this.#f64[at >> 3] = id;
    i32[(at >> 2) + 2] = status;
    i32[USED] = end - ENTRIES;
    i32[COUNT]!++;
    return true;
  }

  /** Writes `v` at byte `at`; returns where the next value goes, -1 when it does not fit, -2 when v8 must serialize it. */
  #write(at: number, v: unknown, depth: number): number {
    if (at + 16 > JOURNAL_BYTES) return -1;
    const i32 = this.#i32;
    const word = at >> 2;
    switch (typeof v) {
      case 'number':
        i32[word] = NUMBER;
        this.#f64[(at >> 3) + 1] = v;
        return at + 16;
      case 'string':
        return this.#writeString(at, v);
      case 'boolean':
        i32[word] = v ? TRUE : FALSE;
        return at + 8;
      case 'undefined':
        i32[word] = UNDEFINED;
        return at + 8;
      case 'object':
        break;
      default:
        return -2;
    }
    if (v === null) {
      i32[word] = NULL;
      return at + 8;
    }
    const seen = this.#seen;
    const met = this.#seenCount;
    if (depth >= MAX_DEPTH || met >= MAX_OBJECTS) return -2;
    for (let k = 0; k < met; k++) if (seen[k] === v) return -2;
    seen[met] = v;
    this.#seenCount = met + 1;
    let next = at + 8;
    if (Array.isArray(v)) {
      i32[word] = ARRAY;
      i32[word + 1] = v.length;
      for (let k = 0; k < v.length && next >= 0; k++) next = this.#write(next, v[k], depth + 1);
      return next;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return -2;
    const keys = Object.keys(v);
    i32[word] = OBJECT;
    i32[word + 1] = keys.length;
    for (let k = 0; k < keys.length && next >= 0; k++) {
      const key = keys[k]!;
      next = this.#writeString(next, key);
      if (next >= 0) next = this.#write(next, (v as Record<string, unknown>)[key], depth + 1);
    }
    return next;
  }

  #writeString(at: number, s: string): number {
    const n = s.length;
    const end = pad8(at + 8 + 2 * n);
    if (end > JOURNAL_BYTES) return -1;
    this.#i32[at >> 2] = STRING;
    this.#i32[(at >> 2) + 1] = n;
    if (n > SHORT_STRING) this.#bytes.write(s, at + 8, 2 * n, 'utf16le');
    else for (let k = 0, u = (at + 8) >> 1; k < n; k++) this.#u16[u + k] = s.charCodeAt(k);
    return end;
  }

  #writeSerialized(at: number, v: unknown): number {
    let bytes: Buffer;
    try {
      bytes = builtin('node:v8').serialize(v);
    } catch {
      return -1;
    }
    const end = pad8(at + 8 + bytes.length);
    if (end > JOURNAL_BYTES) return -1;
    this.#i32[at >> 2] = SERIALIZED;
    this.#i32[(at >> 2) + 1] = bytes.length;
    bytes.copy(this.#bytes, at + 8);
    return end;
  }

  // ---- the pool's side, once the worker has exited -----------------------------------------

  /** What the worker left: call it only once the worker has exited. */
  read(): JournalContents {
    const r: unknown[] = [];
    for (let k = 0, at = ENTRIES, count = this.#i32[COUNT]!; k < count; k++) {
      r.push(this.#f64[at >> 3], this.#i32[(at >> 2) + 2]);
      at = this.#read(at + 16);
      r.push(this.#value);
    }
    return { running: this.#f64[0]!, r };
  }

  /** The last value `#read`. */
  #value: unknown = undefined;

  /** Reads the value at byte `at` into `value`; returns where the next one starts. */
  #read(at: number): number {
    const word = at >> 2;
    const n = this.#i32[word + 1]!;
    switch (this.#i32[word]) {
      case NUMBER:
        this.#value = this.#f64[(at >> 3) + 1];
        return at + 16;
      case STRING:
        this.#value = this.#bytes.toString('utf16le', at + 8, at + 8 + 2 * n);
        return pad8(at + 8 + 2 * n);
      case SERIALIZED:
        this.#value = builtin('node:v8').deserialize(this.#bytes.subarray(at + 8, at + 8 + n));
        return pad8(at + 8 + n);
      case ARRAY: {
        const items = new Array<unknown>(n);
        let next = at + 8;
        for (let k = 0; k < n; k++) {
          next = this.#read(next);
          items[k] = this.#value;
        }
        this.#value = items;
        return next;
      }
      case OBJECT: {
        const fields: Record<string, unknown> = {};
        let next = at + 8;
        for (let k = 0; k < n; k++) {
          next = this.#read(next);
          const key = this.#value as string;
          next = this.#read(next);
          // An own property, as structured clone makes it: assigned, `__proto__` would set the prototype.
          if (key === '__proto__') Object.defineProperty(fields, key, { value: this.#value, enumerable: true, writable: true, configurable: true });
          else fields[key] = this.#value;
        }
        this.#value = fields;
        return next;
      }
      case TRUE:
        this.#value = true;
        return at + 8;
      case FALSE:
        this.#value = false;
        return at + 8;
      case NULL:
        this.#value = null;
        return at + 8;
      default:
        this.#value = undefined;
        return at + 8;
    }
  }
}
