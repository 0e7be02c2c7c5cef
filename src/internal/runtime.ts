/**
 * Who is running: the identity of the current OS thread (a "slot") and of the current
 * threadkit `Thread` on it (a "task"), and whether a slot is still alive.
 *
 * One table per process tree. Where the shared-memory addon exists, it lives in a /dev/shm file
 * that every threadkit child process and worker maps, so slots are unique across processes and
 * a lock held by a process that died is recognized as such in every other one. Otherwise it is
 * a SharedArrayBuffer handed to every worker threadkit starts. Slot 0 is the main thread of the
 * first process.
 *
 * Layout (Int32): [0] next slot, then per slot an alive flag and the pid that owns it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { workerData } from 'node:worker_threads';
import { add, load, store, type Cell } from './atomics.ts';
import { isPidAlive } from './pid.ts';
import { attach, available, createFile, type ShmRef } from './shm.ts';

const MAX_SLOTS = 1 << 16;
const NEXT_SLOT = 0;
const ALIVE = 1;
const PID = ALIVE + MAX_SLOTS;
const BYTES = (PID + MAX_SLOTS) * 4;

/** Key under which a threadkit worker finds the runtime table in its `workerData`. */
export const RUNTIME_KEY = '__threadkitRuntime';
/** The environment variable through which child processes find the process-shared table. */
const ENV_KEY = 'THREADKIT_RUNTIME';

export interface RuntimeData {
  table: SharedArrayBuffer | ShmRef;
  slot: number;
}

function fromWorkerData(): RuntimeData | undefined {
  const data = workerData as Record<string, unknown> | null | undefined;
  return data && typeof data === 'object' ? (data[RUNTIME_KEY] as RuntimeData | undefined) : undefined;
}

function tableFrom(source: SharedArrayBuffer | ShmRef): Cell {
  return new Int32Array(source instanceof SharedArrayBuffer ? source : attach(source));
}

function setUp(): { table: Cell; ref: SharedArrayBuffer | ShmRef; slot: number } {
  const inherited = fromWorkerData();
  if (inherited) return { table: tableFrom(inherited.table), ref: inherited.table, slot: inherited.slot };
  const path = process.env[ENV_KEY];
  if (path && available) {
    // A child process of a threadkit program: join its table with a slot of our own.
    const ref = { path, size: BYTES };
    const table = tableFrom(ref);
    return { table, ref, slot: claim(table) };
  }
  let ref: SharedArrayBuffer | ShmRef;
  let table: Cell;
  if (available) {
    const file = createFile(BYTES, 'runtime');
    table = new Int32Array(file.buffer);
    ref = file.ref;
    process.env[ENV_KEY] = file.ref.path;
  } else {
    ref = new SharedArrayBuffer(BYTES);
    table = new Int32Array(ref);
  }
  store(table, NEXT_SLOT, 0);
  return { table, ref, slot: claim(table) };
}

function claim(table: Cell): number {
  const slot = add(table, NEXT_SLOT, 1);
  if (slot >= MAX_SLOTS) throw new RangeError(`threadkit: more than ${MAX_SLOTS} threads were started in this process tree`);
  store(table, PID + slot, process.pid);
  store(table, ALIVE + slot, 1);
  return slot;
}

const runtime = setUp();
const table = runtime.table;
const mySlot = runtime.slot;

/** Reserves a slot for a worker about to start; pass the result in its `workerData[RUNTIME_KEY]`. */
export function reserveSlot(): RuntimeData {
  return { table: runtime.ref, slot: claim(table) };
}

/** Marks a slot dead once its worker has exited; waiters on locks it held then fail instead of hanging. */
export function markSlotDead(slot: number): void {
  store(table, ALIVE + slot, 0);
}

/** Whether the thread of `slot` still runs: its flag is set and, for another process's slot, that process lives. */
export function isSlotAlive(slot: number): boolean {
  if (load(table, ALIVE + slot) !== 1) return false;
  const pid = load(table, PID + slot);
  return pid === process.pid || isPidAlive(pid);
}

/** The OS thread running this code. */
export function currentSlot(): number {
  return mySlot;
}

/** Which threadkit `Thread` (task) of this OS thread is running: 0 outside any. */
export const taskStorage = new AsyncLocalStorage<number>();

let nextTask = 1;
export function newTaskId(): number {
  nextTask = nextTask >= 0x3fffffff ? 1 : nextTask + 1;
  return nextTask;
}

export function currentTask(): number {
  return taskStorage.getStore() ?? 0;
}
