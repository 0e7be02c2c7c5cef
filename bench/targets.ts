/**
 * Targets the suites run in threadkit Threads and Processes. A child imports its target by
 * module and export name, so every target is an exported function of this module file.
 *
 * They take plain shared memory and locks as arguments and import nothing from threadkit, so
 * this file type-checks even while the sync primitives are still being written.
 */

/** The structural shape of threadkit's `Lock` that the worker-side loops use. */
export interface SyncLock {
  acquireSync(): boolean;
  release(): void;
}

/** The target's first line, as an absolute time comparable across threads and processes. */
export function stamp(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Both parties check in, then go: without it, whoever starts first measures its own solo run.
 * If the other never comes (both Threads queued on one worker), the gate is poisoned so that
 * the late one fails too instead of waiting forever for a partner that has gone.
 */
function meet(gate: Int32Array, parties: number): void {
  if (Atomics.add(gate, 0, 1) < 0) throw new Error('the other worker gave up waiting for this one');
  Atomics.notify(gate, 0);
  const deadline = performance.now() + 10_000;
  for (let seen = Atomics.load(gate, 0); seen < parties; seen = Atomics.load(gate, 0)) {
    if (seen < 0 || performance.now() > deadline) {
      Atomics.store(gate, 0, -1_000_000);
      throw new Error('the other worker never arrived (were both Threads given one worker?)');
    }
    Atomics.wait(gate, 0, seen, 100);
  }
}

/** ns per uncontended `acquireSync()` + `release()`, one value per batch (after a warm-up batch). */
export function lockSyncLoop(lock: SyncLock, perBatch: number, batches: number): number[] {
  const out: number[] = [];
  for (let b = -1; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBatch; i++) {
      lock.acquireSync();
      lock.release();
    }
    if (b >= 0) out.push(((performance.now() - t0) * 1e6) / perBatch);
  }
  return out;
}

/** The floor for {@link lockSyncLoop}: one compare-exchange to take a word, one to give it back. */
export function atomicsSyncLoop(buffer: SharedArrayBuffer, perBatch: number, batches: number): number[] {
  const word = new Int32Array(buffer);
  const out: number[] = [];
  for (let b = -1; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBatch; i++) {
      if (Atomics.compareExchange(word, 0, 0, 1) !== 0) throw new Error('word taken');
      Atomics.compareExchange(word, 0, 1, 0);
    }
    if (b >= 0) out.push(((performance.now() - t0) * 1e6) / perBatch);
  }
  return out;
}

/**
 * Ping-pong over two threadkit Locks used as binary semaphores (both start locked; any thread
 * may release a Lock, as in Python). Each round is two hand-offs, each waking the other thread.
 * Returns the wall time of all rounds in ms (measured by the `ping` side).
 */
export function lockPingPong(role: 'ping' | 'pong', ping: SyncLock, pong: SyncLock, gate: SharedArrayBuffer, rounds: number): number {
  meet(new Int32Array(gate), 2);
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    if (role === 'ping') {
      ping.release();
      pong.acquireSync();
    } else {
      ping.acquireSync();
      pong.release();
    }
  }
  return performance.now() - t0;
}

/**
 * The same ping-pong on one raw word: `turn` flips between 0 and 1. `park`: Atomics.wait/notify
 * every time (no spinning); `spin`: busy-wait with Atomics.pause. These bracket what a lock can do.
 */
export function atomicsPingPong(role: 'ping' | 'pong', mode: 'park' | 'spin', buffer: SharedArrayBuffer, gate: SharedArrayBuffer, rounds: number): number {
  const turn = new Int32Array(buffer);
  const mine = role === 'ping' ? 0 : 1;
  const pause = (Atomics as unknown as { pause?: () => void }).pause ?? (() => {});
  meet(new Int32Array(gate), 2);
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    if (mode === 'spin') while (Atomics.load(turn, 0) !== mine) pause();
    else while (Atomics.load(turn, 0) !== mine) Atomics.wait(turn, 0, 1 - mine);
    Atomics.store(turn, 0, 1 - mine);
    if (mode === 'park') Atomics.notify(turn, 0);
  }
  return performance.now() - t0;
}

/** What one contender saw. */
export interface ContentionReport {
  maxWaitMs: number;
  wallMs: number;
}

/** A lock-like pair of functions, so the contention loop is written once for every lock. */
type Take = () => void;
type Give = () => void;

function contend(me: number, stats: Int32Array, gate: Int32Array, n: number, take: Take, give: Give): ContentionReport {
  // stats[0]: the last owner + 1; stats[1]: owner changes.
  meet(gate, 2);
  let maxWaitMs = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const w0 = performance.now();
    take();
    const waited = performance.now() - w0;
    if (waited > maxWaitMs) maxWaitMs = waited;
    if (stats[0] !== me + 1) {
      stats[0] = me + 1; // under the lock: plain writes are enough
      stats[1]!++;
    }
    give();
  }
  return { maxWaitMs, wallMs: performance.now() - t0 };
}

/** 2 workers × n acquisitions of one threadkit Lock with an empty critical section. */
export function lockContention(me: number, lock: SyncLock, stats: SharedArrayBuffer, gate: SharedArrayBuffer, n: number): ContentionReport {
  return contend(
    me,
    new Int32Array(stats),
    new Int32Array(gate),
    n,
    () => lock.acquireSync(),
    () => lock.release(),
  );
}

/**
 * The same with a hand-written lock on one word. `spin`: test-and-set with Atomics.pause (no
 * fairness at all); `futex`: Drepper's three-state mutex ("Futexes are tricky", mutex 2), which
 * parks with Atomics.wait — what one would write by hand.
 */
export function atomicsContention(
  me: number,
  mode: 'spin' | 'futex',
  buffer: SharedArrayBuffer,
  stats: SharedArrayBuffer,
  gate: SharedArrayBuffer,
  n: number,
): ContentionReport {
  const w = new Int32Array(buffer);
  const pause = (Atomics as unknown as { pause?: () => void }).pause ?? (() => {});
  const take =
    mode === 'spin'
      ? () => {
          while (Atomics.compareExchange(w, 0, 0, 1) !== 0) pause();
        }
      : () => {
          let c = Atomics.compareExchange(w, 0, 0, 1);
          if (c === 0) return;
          if (c !== 2) c = Atomics.exchange(w, 0, 2);
          while (c !== 0) {
            Atomics.wait(w, 0, 2);
            c = Atomics.exchange(w, 0, 2);
          }
        };
  const give =
    mode === 'spin'
      ? () => Atomics.store(w, 0, 0)
      : () => {
          if (Atomics.sub(w, 0, 1) !== 1) {
            Atomics.store(w, 0, 0);
            Atomics.notify(w, 0, 1);
          }
        };
  return contend(me, new Int32Array(stats), new Int32Array(gate), n, take, give);
}

// --- pools and queues suites -----------------------------------------------------------------

/** The tiny task of the pools suite: almost nothing but the trip to a worker and back. */
export function increment(x: number): number {
  return x + 1;
}

/**
 * A fixed amount of CPU work (not a fixed time: on a busy machine a time-based loop would "finish"
 * whether or not it had a core to itself, hiding any lack of parallelism). Returns a checksum so
 * the loop cannot be optimized away. The pools suite calibrates `iterations` to ~20 ms.
 */
export function burn(iterations: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < iterations; i++) h = Math.imul(h ^ (i & 0xff), 0x01000193);
  return h >>> 0;
}

/** The structural shape of threadkit's `Lock` for async use (a Process's main thread cannot block). */
export interface AsyncLock {
  acquire(): Promise<boolean>;
  release(): void;
}

/** The structural shape of threadkit's `RawValue('i')`: `view` is an Int32Array over shared memory. */
export interface SharedWord {
  readonly view: Int32Array;
}

/**
 * `meet` for Processes: process-shared memory is not a SharedArrayBuffer (no `Atomics.wait` on
 * it), and a Process's main thread must keep its event loop, so check in and poll. 10 s at most.
 */
async function meetAsync(gate: SharedWord, parties: number): Promise<void> {
  const word = gate.view;
  if (Atomics.add(word, 0, 1) < 0) throw new Error('the other process gave up waiting for this one');
  const deadline = performance.now() + 10_000;
  for (let seen = Atomics.load(word, 0); seen < parties; seen = Atomics.load(word, 0)) {
    if (seen < 0 || performance.now() > deadline) {
      Atomics.store(word, 0, -1_000_000);
      throw new Error('the other process never arrived');
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * {@link lockPingPong} for Processes: the same two Locks used as binary semaphores, with the async
 * `acquire()` (a Process's target runs on its main thread, where `acquireSync` may not block).
 * Returns the wall time of all rounds in ms.
 */
export async function lockPingPongAsync(role: 'ping' | 'pong', ping: AsyncLock, pong: AsyncLock, gate: SharedWord, rounds: number): Promise<number> {
  await meetAsync(gate, 2);
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    if (role === 'ping') {
      ping.release();
      await pong.acquire();
    } else {
      await ping.acquire();
      pong.release();
    }
  }
  return performance.now() - t0;
}

/** The structural shape of threadkit's `Queue` that the consumers use. */
export interface ItemQueue<T> {
  get(): Promise<T>;
  getSync(): T;
}

/**
 * The consumer of the queue benchmarks: says it is ready (so the producer's clock starts with a
 * running consumer), takes `n` items and returns the absolute time it took the last one, and
 * their sum (checked by the caller, so no item is lost or duplicated).
 */
export async function drainQueue(q: ItemQueue<number>, n: number, ready: SharedWord, mode: 'async' | 'sync'): Promise<{ doneAt: number; sum: number }> {
  Atomics.store(ready.view, 0, 1);
  let sum = 0;
  if (mode === 'sync') for (let i = 0; i < n; i++) sum += q.getSync();
  else for (let i = 0; i < n; i++) sum += await q.get();
  return { doneAt: stamp(), sum };
}
