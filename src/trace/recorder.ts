/**
 * The per-thread half of tracing: every OS thread (main thread, carrier, pool worker, child
 * process) that records keeps its events in a buffer of its own and appends them to its own
 * files in the trace directory, `<pid>-<tid>.bin` and `.jsonl`. No lock, no message: a thread
 * never waits on another to record. The root process merges the files (see session.ts, merge.ts).
 *
 * `TRACING` is a live binding read by the one-line hooks in the primitives: while it is false a
 * hook costs one load of a module variable and a branch not taken.
 *
 * A thread learns that tracing is on from `THREADKIT_TRACE_DIR` in its environment (workers and
 * child processes inherit it when they start) or, for worker threads of a process that calls
 * `trace.start()` later, from a message on a `BroadcastChannel`.
 */
import { join } from 'node:path';
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import { currentProcess } from '../process/current.ts';
import { currentThread } from '../thread/current.ts';
import { builtin } from '../internal/builtin.ts';

const { closeSync, openSync, readlinkSync, writeSync } = builtin('node:fs');

/** The environment variable naming the directory every traced thread writes its file in. */
export const DIR_ENV = 'THREADKIT_TRACE_DIR';
/** The channel through which a process's main thread turns tracing on and off in its workers. */
export const CHANNEL = 'threadkit:trace';

/** Whether this thread records. Read by the hooks; changed only by `enable`/`disable`. */
export let TRACING = false;

/** One event as a thread records it: trace-event fields plus `k`, the threadkit Thread (0: none). */
export interface RawEvent {
  name: string;
  cat: string;
  ph: string;
  ts: number;
  dur?: number;
  s?: string;
  pid: number;
  tid: number;
  k: number;
  args?: Record<string, unknown>;
}

/** The OS's id for this thread: Linux's tid from /proc/thread-self; elsewhere the pid for the main thread. */
function osThreadId(): number {
  try {
    const link = readlinkSync('/proc/thread-self'); // "<pid>/task/<tid>"
    const tid = Number(link.slice(link.lastIndexOf('/') + 1));
    if (Number.isInteger(tid) && tid > 0) return tid;
  } catch {
    // not Linux
  }
  return isMainThread ? process.pid : process.pid * 1000 + threadId;
}

export const PID = process.pid;
export const TID = osThreadId();

// Read on first use: the `performance` global loads perf_hooks (~1.5 ms of a cold child) and most runs trace nothing.
let originUs: number | undefined;
/** Microseconds since the epoch, on a clock every thread and process of the machine shares. */
export const nowUs = (): number => (originUs ??= performance.timeOrigin * 1000) + performance.now() * 1000;

/**
 * The buffer: four doubles per event (ts, dur or NaN for a moment, the interned id of its
 * phase, category and name, its track), behind a two-double frame header. Recording an event
 * stores four numbers; a flush writes the frame as it lies in memory to `<pid>-<tid>.bin`, and
 * what is not numbers (names, details) as JSON lines to `<pid>-<tid>.jsonl`, written first.
 */
const CAP = 4096;
const HEADER = 2;
export const FRAME_MAGIC = 0x74726b31; // "trk1"
const FLUSH_EVERY_MS = 100;

let dir: string | undefined;
let fds: { bin: number; meta: number } | undefined;
const cols = new Float64Array(HEADER + CAP * 4);
let n = 0;
/** Details of the buffered events, by index in the buffer; most events have none. */
let extra: Array<Record<string, unknown> | undefined> = [];
let meta: string[] = [];
/** Events written to this session's file before the buffer's first. */
let written = 0;
let timer: ReturnType<typeof setInterval> | undefined;
/** Changes at each enable: ids cached on primitives are valid for one session only. */
export let epoch = 0;
const ids = new Map<string, number>();
/** Tracks (threadkit Threads) of this OS thread whose name was written. */
const named = new Set<number>();

/** The id of an event kind (phase, category, name) in this session, declared in the file once. */
export function intern(ph: string, cat: string, name: string): number {
  const key = `${ph}\u0000${cat}\u0000${name}`;
  let id = ids.get(key);
  if (id === undefined) {
    id = ids.size;
    ids.set(key, id);
    meta.push(JSON.stringify({ s: id, p: ph, c: cat, n: name }));
  }
  return id;
}

/** Names track `k` of this OS thread, once. */
export function nameTrack(k: number, name: string): void {
  if (named.has(k)) return;
  named.add(k);
  meta.push(JSON.stringify({ t: k, n: name }));
}

/** The track events of the running code go to: the threadkit Thread's ident, or 0 outside one. */
export function track(): number {
  const info = currentThread();
  if (!named.has(info.ident)) nameTrack(info.ident, info.name);
  return info.ident;
}

/** Records an event of kind `id` (see `intern`): the hot path, four stores. */
export function record(id: number, ts: number, dur: number, k: number, args?: Record<string, unknown>): void {
  if (!TRACING) return;
  const at = HEADER + n * 4;
  cols[at] = ts;
  cols[at + 1] = dur;
  cols[at + 2] = id;
  cols[at + 3] = k;
  if (args !== undefined) extra[n] = args;
  if (++n === CAP) flush();
}

/** Records a finished span (trace-event phase `X`) on the current track, or on `k`. */
export function complete(cat: string, name: string, startUs: number, endUs: number, args?: Record<string, unknown>, k = track()): void {
  if (!TRACING) return;
  record(intern('X', cat, name), startUs, Math.max(0, endUs - startUs), k, args);
}

/** Records a moment (phase `i`, thread-scoped) on the current track. */
export function instant(cat: string, name: string, args?: Record<string, unknown>): void {
  if (!TRACING) return;
  record(intern('i', cat, name), nowUs(), NaN, track(), args);
}

/** Writes the buffered events to this thread's files now. Safe to call when tracing is off. */
export function flush(): void {
  if (dir === undefined || (n === 0 && meta.length === 0)) return;
  for (let i = 0; i < n; i++) if (extra[i] !== undefined) meta.push(JSON.stringify({ a: written + i, v: extra[i] }));
  meta.push(JSON.stringify({ pn: currentProcess().name }));
  const text = meta.join('\n') + '\n';
  const count = n;
  meta = [];
  extra = [];
  n = 0;
  try {
    fds ??= { bin: openSync(join(dir, `${PID}-${TID}.bin`), 'a'), meta: openSync(join(dir, `${PID}-${TID}.jsonl`), 'a') };
    writeSync(fds.meta, text);
    if (count > 0) {
      cols[0] = FRAME_MAGIC;
      cols[1] = count;
      writeSync(fds.bin, new Uint8Array(cols.buffer, 0, (HEADER + count * 4) * 8));
      written += count;
    }
  } catch (err) {
    // The directory is gone (the root stopped the trace): nothing left to record into.
    process.emitWarning(`threadkit trace: could not write events to ${dir}: ${(err as Error).message}`);
    disable();
  }
}

/** Starts recording into `traceDir` (idempotent for the same directory). */
export function enable(traceDir: string): void {
  if (TRACING && dir === traceDir) return;
  if (TRACING) disable();
  dir = traceDir;
  named.clear();
  ids.clear();
  meta = [];
  extra = [];
  n = 0;
  written = 0;
  epoch++;
  TRACING = true;
  timer = setInterval(flush, FLUSH_EVERY_MS);
  timer.unref();
}

/** Stops recording; what was buffered is written first. */
export function disable(): void {
  if (!TRACING && dir === undefined) return;
  const wasDir = dir;
  TRACING = false;
  clearInterval(timer);
  timer = undefined;
  if (wasDir !== undefined) flush();
  n = 0;
  meta = [];
  extra = [];
  if (fds !== undefined) {
    for (const fd of [fds.bin, fds.meta]) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
  fds = undefined;
  dir = undefined;
}

// Workers and child processes exit through here; the events of a thread killed without running
// JavaScript again (terminate(), SIGKILL) since its last flush are lost, and only those.
process.on('exit', () => {
  if (TRACING) flush();
});

const inherited = process.env[DIR_ENV];
if (inherited) enable(inherited);

if (!isMainThread) {
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (event) => {
    const traceDir = (event as { data: { dir: string | null } }).data.dir;
    if (traceDir) enable(traceDir);
    else disable();
  };
  channel.unref();
}
