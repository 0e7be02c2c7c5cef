/**
 * The thread table: who is running. Each OS thread of the process tree (a main thread, a
 * carrier, a pool worker, a raw worker a test starts) holds one **slot** of it, a number unique
 * across every process of the tree, with an alive flag and the pid that owns it. Locks record
 * the slot of their owner, so a lock held by a thread or process that died is recognized as
 * such in every other one. ("Slot" means this and only this in threadkit.)
 *
 * It also names the current async task on this OS thread (a threadkit `Thread` on a carrier):
 * {@link currentTaskId}, 0 outside any. The public pool `currentTask()` is another thing
 * (src/pool/current-task.ts).
 *
 * One table per process tree. Where the shared-memory addon exists, it lives in a /dev/shm file
 * that every threadkit child process and worker maps (removed when the process that made it
 * exits); otherwise it is a SharedArrayBuffer handed to every worker threadkit starts. A worker
 * finds it in `workerData[RUNTIME_KEY]`, a child process in the environment variable
 * `THREADKIT_RUNTIME`.
 *
 * **Start-up.** Importing this module does nothing. The table is made (or joined) by
 * {@link startRuntime}, which every function here calls first, so the first thing that needs it
 * starts it: a lock's module, a worker being started, a child being forked. Whatever forks a
 * child process must call {@link startRuntime} first, so that the child finds the table in its
 * environment. The first process's main thread takes slot 0 (it claims its own slot before
 * reserving any for its workers).
 *
 * Layout (Int32): [0] next slot, then per slot an alive flag and the pid that owns it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { workerData } from 'node:worker_threads';
import { add, load, store, type Cell } from './atomics.ts';
import { pidExists } from './pid.ts';
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

/** What a worker about to start is handed: the table and the slot reserved for it. */
export interface RuntimeData {
  table: SharedArrayBuffer | ShmRef;
  slot: number;
}

interface Runtime {
  readonly table: Cell;
  /** How the table crosses to a worker. */
  readonly ref: SharedArrayBuffer | ShmRef;
  /** This OS thread's slot. */
  readonly slot: number;
}

let runtime: Runtime | undefined;

/**
 * Makes or joins the thread table and claims this thread's slot; later calls return the same.
 * A worker joins the table of its `workerData`, a child process the one named in its
 * environment; the first process of a tree makes it (and names it in the environment, for the
 * children it will fork).
 */
export function startRuntime(): Runtime {
  return (runtime ??= setUp());
}

function fromWorkerData(): RuntimeData | undefined {
  const data = workerData as Record<string, unknown> | null | undefined;
  return data && typeof data === 'object' ? (data[RUNTIME_KEY] as RuntimeData | undefined) : undefined;
}

function tableFrom(source: SharedArrayBuffer | ShmRef): Cell {
  return new Int32Array(source instanceof SharedArrayBuffer ? source : attach(source));
}

function setUp(): Runtime {
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
    const file = createFile(BYTES, 'runtime'); // removed when this process exits (shm.ts)
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

/** Reserves a slot for a worker about to start; pass the result in its `workerData[RUNTIME_KEY]`. */
export function reserveSlot(): RuntimeData {
  const { ref, table } = startRuntime();
  return { table: ref, slot: claim(table) };
}

/** Marks a slot dead once its worker has exited; waiters on locks it held then fail instead of hanging. */
export function markSlotDead(slot: number): void {
  store(startRuntime().table, ALIVE + slot, 0);
}

/** Whether the thread of `slot` still runs: its flag is set and, for another process's slot, that process lives. */
export function isSlotAlive(slot: number): boolean {
  const { table } = startRuntime();
  if (load(table, ALIVE + slot) !== 1) return false;
  const pid = load(table, PID + slot);
  return pid === process.pid || pidExists(pid);
}

/** The slot of the OS thread running this code. */
export function currentSlot(): number {
  return startRuntime().slot;
}

/** Which async task (a threadkit `Thread` on a carrier) of this OS thread is running: 0 outside any. */
export const taskStorage = new AsyncLocalStorage<number>();

let nextTask = 1;
/** A new async task id for {@link taskStorage}; unique on this OS thread (ids wrap after 2^30). */
export function newTaskId(): number {
  nextTask = nextTask >= 0x3fffffff ? 1 : nextTask + 1;
  return nextTask;
}

/** The async task of this OS thread running now (a threadkit `Thread`): 0 outside any. Not the pool's `currentTask()`. */
export function currentTaskId(): number {
  return taskStorage.getStore() ?? 0;
}
