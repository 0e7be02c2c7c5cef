/**
 * The byte ring under `Queue`, `JoinableQueue` and `Pipe`: length-prefixed records in one
 * `SharedArrayBuffer`, so every thread that holds a `Ring` over the same buffer sees the same
 * queue.
 *
 * One short mutex guards the records (Python's `Queue` is a mutex and conditions too). It is
 * held only to copy bytes in or out, never across an `await` or user code, so a thread that
 * finds it taken spins briefly and then parks on it. Waiting for data or for room is separate:
 * a getter reads `PUT_SEQ` under the mutex, lets go, and parks on it while it still holds that
 * value; every push bumps `PUT_SEQ` (pops bump `GET_SEQ`, `close` bumps both), so a change that
 * happens after the check can never be missed. Waiter counts let the hot path skip `notify`
 * when nobody is parked.
 *
 * Every wait is a generator of parks (see src/internal/park.ts), so the same loop serves the async
 * methods (`Atomics.waitAsync`) and the blocking ones (`Atomics.wait`), with the same timeouts
 * and the same clean-up on abort.
 *
 * Records: a 4-byte length, the payload, padding to 4 bytes; a payload may wrap around the end
 * of the data area (the length never does). When the ring empties, head and tail go back to 0.
 */
import { LockOwnerDiedError } from '../errors.ts';
import { add, compareExchange, exchange, load, notify, pause, store, sub, type Cell } from '../internal/atomics.ts';
import { myOwnerId, ownerDied } from '../internal/owner.ts';
import { POLL_MS, now, runSync, type Steps } from '../internal/park.ts';
import { defaultMemory, type MemoryKind, type SharedMemory } from '../internal/cells.ts';
import { createFile } from '../internal/shm.ts';

// Header words (Int32).
const MUTEX = 0; // the mutex over the records: 0 free, else the MUTEX bits below
const COUNT = 1; // records in the ring
const USED = 2; // bytes the records occupy, padding included
const HEAD = 3; // byte offset of the next record to read
const TAIL = 4; // byte offset where the next record goes
const PUT_SEQ = 5; // bumped by every push and by close: getters and pollers park on it
const GET_SEQ = 6; // bumped by every pop and by close: putters park on it
const GET_WAITERS = 7; // getters parked on PUT_SEQ: a push wakes one
const PUT_WAITERS = 8; // putters parked on GET_SEQ: a pop wakes them all
const POLL_WAITERS = 9; // `readable` waiters parked on PUT_SEQ: a push wakes them all (and the getters)
const FLAGS = 10; // the FLAGS bits below; set once, never cleared
const MAXSIZE = 11; // most records at once; 0 = only bytes bound the ring
const CAPACITY = 12; // bytes of the data area
const UNFINISHED = 13; // records pushed and not yet marked done (JoinableQueue)
const HEADER_WORDS = 16;
const HEADER_BYTES = HEADER_WORDS * 4;

/** `FLAGS` bits. */
export const WRITER_CLOSED = 1; // no more pushes; pops drain what is left, then report closed
export const READER_CLOSED = 2; // the reading end is gone: pushes and pops report closed at once
const BROKEN = 4; // a thread died holding the mutex; the records may be half-written

// MUTEX bits. 0: free. Held: the holder's owner id (owner.ts) shifted by MUTEX_OWNER_SHIFT,
// never 0 (an id is at least 1), with MUTEX_PARKED set once someone parked (or may park) on it.
/** Someone sleeps on MUTEX: the unlock must `notify`. A thread that parked sets it again when it takes the mutex, as others may still sleep. */
const MUTEX_PARKED = 1;
/** The holder's owner id lives above MUTEX_PARKED; `ownerDied` checks it when a waiter times out on the mutex. */
const MUTEX_OWNER_SHIFT = 1;

/** Bytes of record overhead: the length prefix. */
export const RECORD_OVERHEAD = 4;

/** Spins on a taken mutex before parking: it is only ever held for a copy. */
const MUTEX_SPINS = 100;
/** Spins on a sequence word before parking: a hand-off between busy threads needs no sleep. */
const SPINS = 200;

/** The mutex word held by this thread, not parked; set by the first Ring attached here. */
let LOCKED_BY_ME = 0;

let scratchBytes = new Uint8Array(1024);

/** A private buffer for `tryPop`, reused: one copy out of shared memory and no allocation per item. */
function scratch(length: number): Uint8Array {
  if (scratchBytes.length < length) scratchBytes = new Uint8Array(Math.max(length, 2 * scratchBytes.length));
  return scratchBytes.subarray(0, length);
}

/** What crosses to another thread to rebuild a `Ring` over the same memory. */
export interface RingState {
  buffer: SharedMemory;
}

export type PushResult = 'ok' | 'full' | 'closed';
export type PopResult = Uint8Array | 'empty' | 'closed';

/** Bytes a payload of `length` bytes takes in the ring. */
export function recordBytes(length: number): number {
  return RECORD_OVERHEAD + ((length + 3) & ~3);
}

export class Ring {
  readonly #buffer: SharedMemory;
  readonly #cell: Cell;
  readonly #bytes: Uint8Array<SharedMemory>;
  readonly #words: Int32Array<SharedMemory>;
  readonly #capacity: number;
  readonly #maxsize: number;

  /** A new, empty ring of `capacityBytes` (a multiple of 8) holding at most `maxsize` records (0: no limit). */
  static create(capacityBytes: number, maxsize: number, memory: MemoryKind = defaultMemory): Ring {
    // A ring of its own: the layout starts at offset 0. Process-shared where primitives are.
    const bytes = HEADER_BYTES + capacityBytes;
    const buffer = memory === 'process' ? createFile(bytes, 'queue').buffer : new SharedArrayBuffer(bytes);
    const cell = new Int32Array(buffer, 0, HEADER_WORDS) as Cell;
    store(cell, CAPACITY, capacityBytes);
    store(cell, MAXSIZE, maxsize);
    return new Ring({ buffer });
  }

  /** Attaches to the ring another `Ring` laid out in `state.buffer`. */
  constructor(state: RingState) {
    this.#buffer = state.buffer;
    this.#cell = new Int32Array(state.buffer, 0, HEADER_WORDS) as Cell;
    this.#capacity = load(this.#cell, CAPACITY);
    this.#maxsize = load(this.#cell, MAXSIZE);
    this.#bytes = new Uint8Array(state.buffer, HEADER_BYTES, this.#capacity);
    this.#words = new Int32Array(state.buffer, HEADER_BYTES, this.#capacity >> 2);
    LOCKED_BY_ME ||= (myOwnerId() << MUTEX_OWNER_SHIFT) | 0;
  }

  get state(): RingState {
    return { buffer: this.#buffer };
  }

  get capacity(): number {
    return this.#capacity;
  }

  get maxsize(): number {
    return this.#maxsize;
  }

  /** Records in the ring now (a snapshot). */
  get count(): number {
    return load(this.#cell, COUNT);
  }

  get flags(): number {
    return load(this.#cell, FLAGS) & (WRITER_CLOSED | READER_CLOSED);
  }

  /** Records pushed and not yet marked done. */
  get unfinished(): number {
    return load(this.#cell, UNFINISHED);
  }

  /**
   * Appends `payload` as one record once it fits; returns `'full'` when `deadline` passes first
   * (a past deadline tries once), `'closed'` when either end is closed. The payload must fit in
   * an empty ring (the caller checks).
   *
   * A push goes in whenever it fits, so under a steady stream of small pushes into a nearly
   * full ring, a payload close to the capacity may wait long (Python's queues make no fairness
   * promise either); a roomier ring avoids that.
   */
  *push(payload: Uint8Array, deadline: number): Steps<PushResult> {
    const c = this.#cell;
    const rec = recordBytes(payload.length);
    for (;;) {
      if (compareExchange(c, MUTEX, 0, LOCKED_BY_ME) !== 0) yield* this.#lock();
      let r: PushResult | 'wait';
      let seq: number;
      try {
        seq = load(c, GET_SEQ);
        r = this.#fits(rec) ? this.#write(payload, rec) : this.#whyNot(deadline);
      } finally {
        this.#unlock();
      }
      if (r === 'ok') this.#wakeGetters();
      if (r !== 'wait') return r;
      yield* this.#park(GET_SEQ, PUT_WAITERS, seq, Infinity);
    }
  }

  /** Appends `payload` if it fits now; `'full'` if not. Never waits for room (only, briefly, for the mutex). */
  tryPush(payload: Uint8Array): PushResult {
    const c = this.#cell;
    const rec = recordBytes(payload.length);
    if (compareExchange(c, MUTEX, 0, LOCKED_BY_ME) !== 0) this.#lockSync();
    let r: PushResult;
    try {
      r = this.#fits(rec) ? this.#write(payload, rec) : (this.#whyNot(-Infinity) as PushResult);
    } finally {
      this.#unlock();
    }
    if (r === 'ok') this.#wakeGetters();
    return r;
  }

  /**
   * Removes the oldest record and returns a copy of its payload; `'empty'` when `deadline`
   * passes first, `'closed'` when the ring is closed and drained (or its reader closed).
   */
  *pop(deadline: number): Steps<PopResult> {
    const c = this.#cell;
    for (;;) {
      if (compareExchange(c, MUTEX, 0, LOCKED_BY_ME) !== 0) yield* this.#lock();
      let r: PopResult | 'wait';
      let seq: number;
      try {
        seq = load(c, PUT_SEQ);
        r = this.#popLocked(deadline, true);
      } finally {
        this.#unlock();
      }
      if (typeof r !== 'string') this.#wakePutters();
      if (r !== 'wait') return r;
      yield* this.#park(PUT_SEQ, GET_WAITERS, seq, Infinity);
    }
  }

  /**
   * Removes the oldest record if there is one; `'empty'` if not. Never waits for a record. The
   * payload returned is a view of a scratch buffer that the next `tryPop` of this thread
   * overwrites: decode it at once.
   */
  tryPop(): PopResult {
    const c = this.#cell;
    if (compareExchange(c, MUTEX, 0, LOCKED_BY_ME) !== 0) this.#lockSync();
    let r: PopResult | 'wait';
    try {
      r = this.#popLocked(-Infinity, false);
    } finally {
      this.#unlock();
    }
    if (typeof r !== 'string') this.#wakePutters();
    return r as PopResult;
  }

  /** Waits until a pop would not wait (a record is there, or the ring is closed); false on timeout. */
  *readable(deadline: number): Steps<boolean> {
    const c = this.#cell;
    for (;;) {
      const seq = load(c, PUT_SEQ);
      const flags = load(c, FLAGS);
      if (flags & BROKEN) throw this.#broken();
      if (load(c, COUNT) > 0 || flags !== 0) return true;
      if (now() >= deadline) return false;
      yield* this.#park(PUT_SEQ, POLL_WAITERS, seq, Infinity);
    }
  }

  /** Marks one record done (JoinableQueue); false when none is unfinished. */
  taskDone(): boolean {
    const c = this.#cell;
    for (;;) {
      const v = load(c, UNFINISHED);
      if (v <= 0) return false;
      if (compareExchange(c, UNFINISHED, v, v - 1) !== v) continue;
      if (v === 1) notify(c, UNFINISHED);
      return true;
    }
  }

  /** Waits until every pushed record was marked done; false on timeout. */
  *join(deadline: number): Steps<boolean> {
    const c = this.#cell;
    for (let spins = 0; ; ) {
      const v = load(c, UNFINISHED);
      if (v === 0) return true;
      if (load(c, FLAGS) & BROKEN) throw this.#broken();
      if (now() >= deadline) return false;
      if (spins < SPINS) {
        spins++;
        pause();
        continue;
      }
      yield [c, UNFINISHED, v, Infinity];
    }
  }

  /** Sets `WRITER_CLOSED` and/or `READER_CLOSED` and wakes every waiter so each re-checks. */
  close(bits: number): void {
    const c = this.#cell;
    if (compareExchange(c, MUTEX, 0, LOCKED_BY_ME) !== 0) this.#lockSync();
    try {
      for (;;) {
        const f = load(c, FLAGS);
        if ((f & bits) === bits || compareExchange(c, FLAGS, f, f | bits) === f) break;
      }
      add(c, PUT_SEQ, 1);
      add(c, GET_SEQ, 1);
    } finally {
      this.#unlock();
    }
    notify(c, PUT_SEQ);
    notify(c, GET_SEQ);
  }

  /** Takes the mutex by blocking this thread: it is only ever held for a copy. */
  #lockSync(): void {
    runSync(this.#lock(), Infinity);
  }

  *#lock(): Steps<void> {
    const c = this.#cell;
    let spins = 0;
    let slept = false;
    for (;;) {
      const v = load(c, MUTEX);
      if (v === 0) {
        if (compareExchange(c, MUTEX, 0, slept ? LOCKED_BY_ME | MUTEX_PARKED : LOCKED_BY_ME) === 0) return;
        continue;
      }
      if (load(c, FLAGS) & BROKEN) throw this.#broken();
      if (spins < MUTEX_SPINS) {
        spins++;
        pause();
        continue;
      }
      if ((v & MUTEX_PARKED) === 0 && compareExchange(c, MUTEX, v, v | MUTEX_PARKED) !== v) continue;
      const r = yield [c, MUTEX, v | MUTEX_PARKED, POLL_MS];
      slept = true;
      if (r === 'timed-out') this.#breakIfOwnerDied(v);
    }
  }

  #unlock(): void {
    const v = exchange(this.#cell, MUTEX, 0);
    if (v & MUTEX_PARKED) notify(this.#cell, MUTEX, 1);
  }

  /** Parks on `word` while it holds `seq`, counted in `waiters`; spins a little first. */
  *#park(word: number, waiters: number, seq: number, sliceMs: number): Steps<void> {
    const c = this.#cell;
    for (let i = 0; i < SPINS; i++) {
      if (load(c, word) !== seq) return;
      pause();
    }
    add(c, waiters, 1);
    let done = false;
    try {
      yield [c, word, seq, sliceMs];
      done = true;
    } finally {
      sub(c, waiters, 1);
      // Left by an abort: a wake-up this waiter may have taken goes to the next one.
      if (!done && load(c, waiters) !== 0) notify(c, word, 1);
    }
  }

  /** Whether a record of `rec` bytes fits now (the mutex held). */
  #fits(rec: number): boolean {
    const c = this.#cell;
    if (load(c, FLAGS) !== 0) return false;
    return (this.#maxsize === 0 || load(c, COUNT) < this.#maxsize) && rec <= this.#capacity - c[USED]!;
  }

  #whyNot(deadline: number): PushResult | 'wait' {
    const flags = load(this.#cell, FLAGS);
    if (flags & BROKEN) throw this.#broken();
    if (flags !== 0) return 'closed';
    return now() >= deadline ? 'full' : 'wait';
  }

  #popLocked(deadline: number, fresh: boolean): PopResult | 'wait' {
    const c = this.#cell;
    const flags = load(c, FLAGS);
    if (flags & BROKEN) throw this.#broken();
    if (flags & READER_CLOSED) return 'closed';
    if (load(c, COUNT) > 0) return this.#read(fresh);
    if (flags & WRITER_CLOSED) return 'closed';
    if (now() >= deadline) return 'empty';
    return 'wait';
  }

  #write(payload: Uint8Array, rec: number): 'ok' {
    const c = this.#cell;
    const cap = this.#capacity;
    const len = payload.length;
    let tail = c[TAIL]!;
    this.#words[tail >> 2] = len;
    let p = tail + RECORD_OVERHEAD;
    if (p === cap) p = 0;
    const first = Math.min(len, cap - p);
    this.#bytes.set(first === len ? payload : payload.subarray(0, first), p);
    if (first < len) this.#bytes.set(payload.subarray(first), 0);
    tail += rec;
    if (tail >= cap) tail -= cap;
    c[TAIL] = tail;
    c[USED] = c[USED]! + rec;
    add(c, COUNT, 1);
    add(c, UNFINISHED, 1);
    add(c, PUT_SEQ, 1);
    return 'ok';
  }

  #read(fresh: boolean): Uint8Array {
    const c = this.#cell;
    const cap = this.#capacity;
    let head = c[HEAD]!;
    const len = this.#words[head >> 2]!;
    let p = head + RECORD_OVERHEAD;
    if (p === cap) p = 0;
    const out = fresh ? new Uint8Array(len) : scratch(len);
    const first = Math.min(len, cap - p);
    out.set(this.#bytes.subarray(p, p + first));
    if (first < len) out.set(this.#bytes.subarray(0, len - first), first);
    const rec = recordBytes(len);
    head += rec;
    if (head >= cap) head -= cap;
    if (sub(c, COUNT, 1) === 1) {
      // Empty: start over at 0, so small records rarely wrap.
      c[HEAD] = 0;
      c[TAIL] = 0;
      c[USED] = 0;
    } else {
      c[HEAD] = head;
      c[USED] = c[USED]! - rec;
    }
    add(c, GET_SEQ, 1);
    return out;
  }

  #wakeGetters(): void {
    const c = this.#cell;
    if (load(c, POLL_WAITERS) !== 0) notify(c, PUT_SEQ);
    else if (load(c, GET_WAITERS) !== 0) notify(c, PUT_SEQ, 1);
  }

  #wakePutters(): void {
    // Every putter: which of them fits depends on sizes, and a wake-up lost on one that does
    // not fit would leave one that does parked beside free room.
    if (load(this.#cell, PUT_WAITERS) !== 0) notify(this.#cell, GET_SEQ);
  }

  #breakIfOwnerDied(v: number): void {
    if (!ownerDied(v >>> MUTEX_OWNER_SHIFT)) return;
    const c = this.#cell;
    for (;;) {
      const f = load(c, FLAGS);
      if (f & BROKEN || compareExchange(c, FLAGS, f, f | BROKEN) === f) break;
    }
    add(c, PUT_SEQ, 1);
    add(c, GET_SEQ, 1);
    for (const word of [MUTEX, PUT_SEQ, GET_SEQ, UNFINISHED]) notify(c, word);
    throw this.#broken();
  }

  #broken(): LockOwnerDiedError {
    return new LockOwnerDiedError(
      'the queue is broken: a thread died while it was copying an item in or out (terminated mid-operation), so its contents may be half-written. Create a new queue.',
    );
  }
}
