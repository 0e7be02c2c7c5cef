/**
 * Who is running: the identity of the current OS thread (a "slot") and of the current
 * threadkit `Thread` on it (a "task"), and whether a slot is still alive.
 *
 * One table in shared memory per process, created by the main thread and handed to every
 * worker threadkit starts. Layout (Int32): [0] next slot, [1..] one alive flag per slot.
 * Slot 0 is the main thread. Locks record their owner's slot so that waiters can tell
 * when the owner died instead of waiting forever.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { isMainThread, workerData } from 'node:worker_threads';
import { add, load, store, type Cell } from './atomics.ts';

const MAX_SLOTS = 1 << 16;
const NEXT_SLOT = 0;
const FIRST_SLOT = 1;

/** Key under which a threadkit worker finds the runtime table in its `workerData`. */
export const RUNTIME_KEY = '__threadkitRuntime';

interface RuntimeData {
  table: SharedArrayBuffer;
  slot: number;
}

function inherited(): RuntimeData | undefined {
  const data = workerData as Record<string, unknown> | null | undefined;
  const rt = data && typeof data === 'object' ? (data[RUNTIME_KEY] as RuntimeData | undefined) : undefined;
  return rt && rt.table instanceof SharedArrayBuffer ? rt : undefined;
}

const fromParent = inherited();
const table: Cell = fromParent
  ? new Int32Array(fromParent.table)
  : new Int32Array(new SharedArrayBuffer((FIRST_SLOT + MAX_SLOTS) * 4));
if (!fromParent) {
  // Slot 0: this thread (the main thread, or a worker threadkit did not start).
  store(table, NEXT_SLOT, 1);
  store(table, FIRST_SLOT, 1);
}
const mySlot = fromParent ? fromParent.slot : 0;

/** True inside a worker or child process started by threadkit for a Thread/Process/Pool. */
export const inThreadkitWorker = fromParent !== undefined || !isMainThread;

/** Reserves a slot for a worker about to start; pass the result in its `workerData[RUNTIME_KEY]`. */
export function reserveSlot(): RuntimeData {
  const slot = add(table, NEXT_SLOT, 1);
  if (slot >= MAX_SLOTS) throw new RangeError(`threadkit: more than ${MAX_SLOTS} worker threads were started in this process`);
  store(table, FIRST_SLOT + slot, 1);
  return { table: table.buffer, slot };
}

/** Marks a slot dead once its worker has exited; waiters on locks it held then fail instead of hanging. */
export function markSlotDead(slot: number): void {
  store(table, FIRST_SLOT + slot, 0);
}

export function isSlotAlive(slot: number): boolean {
  return load(table, FIRST_SLOT + slot) === 1;
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
