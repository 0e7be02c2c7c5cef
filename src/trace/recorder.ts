/**
 * The per-thread half of tracing: every OS thread (main thread, carrier, pool worker, child
 * process) that records keeps its events in a buffer of its own and appends them, one JSON object
 * a line, to its own file in the trace directory, `<pid>-<tid>.jsonl`. No lock, no message: a
 * thread never waits on another to record. The root process merges the files (see session.ts).
 *
 * `TRACING` is a live binding read by the one-line hooks in the primitives: while it is false a
 * hook costs one load of a module variable and a branch not taken.
 *
 * A thread learns that tracing is on from `THREADKIT_TRACE_DIR` in its environment (workers and
 * child processes inherit it when they start) or, for worker threads of a process that calls
 * `trace.start()` later, from a message on a `BroadcastChannel`.
 */
import { closeSync, openSync, readlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import { currentProcess } from '../process/current.ts';
import { currentThread } from '../thread/current.ts';

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

const ORIGIN_US = performance.timeOrigin * 1000;
/** Microseconds since the epoch, on a clock every thread and process of the machine shares. */
export const nowUs = (): number => ORIGIN_US + performance.now() * 1000;

const FLUSH_AT = 4096;
const FLUSH_EVERY_MS = 100;

let dir: string | undefined;
let fd: number | undefined;
let buffer: RawEvent[] = [];
let timer: ReturnType<typeof setInterval> | undefined;
/** Tracks (threadkit Threads) of this OS thread whose name was written. */
const named = new Set<number>();

/** Names track `k` of this OS thread, once. */
export function nameTrack(k: number, name: string): void {
  if (named.has(k)) return;
  named.add(k);
  buffer.push({ name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid: PID, tid: TID, k, args: { name } });
}

/** The track events of the running code go to: the threadkit Thread's ident, or 0 outside one. */
export function track(): number {
  const info = currentThread();
  if (!named.has(info.ident)) nameTrack(info.ident, info.name);
  return info.ident;
}

/** Records a finished span (trace-event phase `X`) on the current track, or on `k`. */
export function complete(cat: string, name: string, startUs: number, endUs: number, args?: Record<string, unknown>, k = track()): void {
  if (!TRACING) return;
  buffer.push({ name, cat, ph: 'X', ts: startUs, dur: Math.max(0, endUs - startUs), pid: PID, tid: TID, k, args });
  if (buffer.length >= FLUSH_AT) flush();
}

/** Records a moment (phase `i`, thread-scoped) on the current track. */
export function instant(cat: string, name: string, args?: Record<string, unknown>): void {
  if (!TRACING) return;
  buffer.push({ name, cat, ph: 'i', s: 't', ts: nowUs(), pid: PID, tid: TID, k: track(), args });
  if (buffer.length >= FLUSH_AT) flush();
}

/** Writes the buffered events to this thread's file now. Safe to call when tracing is off. */
export function flush(): void {
  if (buffer.length === 0 || dir === undefined) return;
  const events = buffer;
  buffer = [];
  const { name } = currentProcess();
  events.push({ name: 'process_name', cat: '__metadata', ph: 'M', ts: 0, pid: PID, tid: TID, k: 0, args: { name } });
  let text = '';
  for (const e of events) text += JSON.stringify(e) + '\n';
  try {
    fd ??= openSync(join(dir, `${PID}-${TID}.jsonl`), 'a');
    writeSync(fd, text);
  } catch (err) {
    // The directory is gone (the root stopped the trace): nothing left to record into.
    process.emitWarning(`threadkit trace: could not write events to ${dir}: ${(err as Error).message}`);
    disable();
  }
}

let soon = false;
const flushNow = (): void => {
  soon = false;
  flush();
};

/** Writes the buffered events once the current turn of the event loop is over (many calls, one write). */
export function flushSoon(): void {
  if (soon || !TRACING) return;
  soon = true;
  setImmediate(flushNow).unref();
}

/** Starts recording into `traceDir` (idempotent for the same directory). */
export function enable(traceDir: string): void {
  if (TRACING && dir === traceDir) return;
  if (TRACING) disable();
  dir = traceDir;
  named.clear();
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
  if (wasDir !== undefined && buffer.length > 0) flush();
  buffer = [];
  if (fd !== undefined) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
  fd = undefined;
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
