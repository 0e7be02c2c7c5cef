/**
 * Merges the per-thread files of a trace directory into one trace-event file.
 *
 * Each OS thread wrote `<pid>-<tid>.jsonl`, its events tagged with `k`, the threadkit Thread
 * they ran in (0 outside one). Several Threads may share one OS thread (a carrier), so each
 * Thread gets a track of its own: an OS thread that ran one Thread and nothing else keeps its
 * OS tid; otherwise the carrier's own events keep the OS tid and each Thread on it gets a tid
 * above any the OS gives (2^30 on), its name saying which OS thread ran it.
 */
import { join } from 'node:path';
import type { TraceEvent, TraceFile } from './format.ts';
import { FRAME_MAGIC, type RawEvent } from './recorder.ts';
import { builtin } from '../internal/builtin.ts';

const { closeSync, openSync, readdirSync, readFileSync, renameSync, writeSync } = builtin('node:fs');

const SYNTHETIC_TID = 1 << 30;

export interface Merged {
  trace: TraceFile;
  /** Lines that could not be read (a thread killed in the middle of a write). */
  unreadable: number;
}

/** One OS thread's files: its event frames (.bin) and its names and details (.jsonl). */
function readThread(dir: string, base: string, events: RawEvent[]): number {
  const [pid, tid] = base.split('-').map(Number) as [number, number];
  let unreadable = 0;
  const kinds = new Map<number, { p: string; c: string; n: string }>();
  const details = new Map<number, Record<string, unknown>>();
  let processName: string | undefined;
  let text = '';
  try {
    text = readFileSync(join(dir, `${base}.jsonl`), 'utf8');
  } catch {
    // a thread that recorded nothing but was asked to flush
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m: { s?: number; p?: string; c?: string; n?: string; t?: number; a?: number; v?: Record<string, unknown>; pn?: string };
    try {
      m = JSON.parse(line);
    } catch {
      unreadable++;
      continue;
    }
    if (m.s !== undefined) kinds.set(m.s, { p: m.p!, c: m.c!, n: m.n! });
    else if (m.t !== undefined) events.push({ name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid, tid, k: m.t, args: { name: m.n } });
    else if (m.a !== undefined) details.set(m.a, m.v!);
    else if (m.pn !== undefined) processName = m.pn;
  }
  if (processName !== undefined) events.push({ name: 'process_name', cat: '__metadata', ph: 'M', ts: 0, pid, tid, k: 0, args: { name: processName } });
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, `${base}.bin`));
  } catch {
    return unreadable;
  }
  const whole = Math.floor(bytes.length / 8);
  const cols = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + whole * 8));
  let index = 0;
  for (let at = 0; at + 2 <= cols.length; ) {
    const count = cols[at + 1]!;
    if (cols[at] !== FRAME_MAGIC || !Number.isInteger(count) || at + 2 + count * 4 > cols.length) {
      unreadable++; // a frame cut short: its thread was killed mid-write
      break;
    }
    for (let i = 0, e = at + 2; i < count; i++, e += 4, index++) {
      const kind = kinds.get(cols[e + 2]!);
      if (!kind) {
        unreadable++;
        continue;
      }
      const dur = cols[e + 1]!;
      const event: RawEvent = { name: kind.n, cat: kind.c, ph: kind.p, ts: cols[e]!, pid, tid, k: cols[e + 3]! };
      if (!Number.isNaN(dur)) event.dur = dur;
      if (kind.p === 'i') event.s = 't';
      const args = details.get(index);
      if (args !== undefined) event.args = args;
      events.push(event);
    }
    at += 2 + count * 4;
  }
  return unreadable;
}

export function readTraceDir(dir: string): { events: RawEvent[]; unreadable: number } {
  const events: RawEvent[] = [];
  let unreadable = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { events, unreadable };
  }
  const bases = new Set(names.filter((n) => /^\d+-\d+\.(bin|jsonl)$/.test(n)).map((n) => n.replace(/\.(bin|jsonl)$/, '')));
  for (const base of [...bases].sort()) unreadable += readThread(dir, base, events);
  return { events, unreadable };
}

/** Builds the trace from raw events: tracks assigned, times from 0, metadata first. */
export function mergeEvents(raw: RawEvent[], otherData: Record<string, unknown> = {}): TraceFile {
  const threadNames = new Map<string, string>(); // pid:tid:k -> name
  const processNames = new Map<number, string>();
  const tracksOf = new Map<string, Set<number>>(); // pid:tid -> ks
  let origin = Infinity;
  for (const e of raw) {
    if (e.ph === 'M') {
      if (e.name === 'thread_name') threadNames.set(`${e.pid}:${e.tid}:${e.k}`, String(e.args?.name));
      else if (e.name === 'process_name') processNames.set(e.pid, String(e.args?.name));
      continue;
    }
    if (e.ts < origin) origin = e.ts;
    const os = `${e.pid}:${e.tid}`;
    let ks = tracksOf.get(os);
    if (!ks) tracksOf.set(os, (ks = new Set()));
    ks.add(e.k);
  }
  if (origin === Infinity) origin = 0;

  const tidOf = new Map<string, number>();
  const meta: TraceEvent[] = [];
  let next = SYNTHETIC_TID;
  for (const [os, ks] of tracksOf) {
    const [pid, tid] = os.split(':').map(Number) as [number, number];
    const alone = ks.size === 1;
    for (const k of [...ks].sort((a, b) => a - b)) {
      const key = `${os}:${k}`;
      const own = alone || k === 0;
      const t = own ? tid : next++;
      tidOf.set(key, t);
      const name = threadNames.get(key) ?? (k === 0 ? `thread ${tid}` : `Thread ${k}`);
      meta.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid: t, args: { name: own ? name : `${name} (on OS thread ${tid})` } });
    }
  }
  for (const [pid, name] of processNames) meta.push({ name: 'process_name', ph: 'M', ts: 0, pid, tid: pid, args: { name: `${name} (pid ${pid})` } });

  const events: TraceEvent[] = [];
  const firstTs = new Map<string, number>();
  for (const e of raw) {
    if (e.ph === 'M') continue;
    const key = `${e.pid}:${e.tid}:${e.k}`;
    const out: TraceEvent = { name: e.name, cat: e.cat, ph: e.ph, ts: round(e.ts - origin), pid: e.pid, tid: tidOf.get(key)! };
    if (e.dur !== undefined) out.dur = round(e.dur);
    if (e.s !== undefined) out.s = e.s;
    if (e.args !== undefined) out.args = e.args;
    events.push(out);
    const id = `${out.pid}:${out.tid}`;
    if (!firstTs.has(id) || firstTs.get(id)! > out.ts) firstTs.set(id, out.ts);
  }
  events.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  // Tracks in the order they began, main threads first.
  const order = [...firstTs.entries()].sort((a, b) => {
    const [pa, ta] = a[0].split(':').map(Number) as [number, number];
    const [pb, tb] = b[0].split(':').map(Number) as [number, number];
    return Number(tb === pb) - Number(ta === pa) || a[1] - b[1];
  });
  order.forEach(([id], index) => {
    const [pid, tid] = id.split(':').map(Number) as [number, number];
    meta.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid, tid, args: { sort_index: index } });
  });
  return { traceEvents: [...meta, ...events], displayTimeUnit: 'ms', otherData: { generator: 'threadkit', epochUs: round(origin), ...otherData } };
}

export function mergeTraceDir(dir: string): Merged {
  const { events, unreadable } = readTraceDir(dir);
  return { trace: mergeEvents(events, unreadable > 0 ? { unreadableLines: unreadable } : {}), unreadable };
}

const round = (us: number): number => Math.round(us * 1000) / 1000;

/**
 * Writes `trace` to `path` whole or not at all (a temporary file renamed into place), a few
 * thousand events at a time: a long trace is larger than one string may be.
 */
export function writeTraceFile(path: string, trace: TraceFile): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    const { traceEvents, ...rest } = trace;
    writeSync(fd, '{"traceEvents":[\n');
    const CHUNK = 4096;
    for (let i = 0; i < traceEvents.length; i += CHUNK) {
      const part = traceEvents.slice(i, i + CHUNK).map((e) => JSON.stringify(e));
      writeSync(fd, (i === 0 ? '' : ',\n') + part.join(',\n'));
    }
    writeSync(fd, `\n]${Object.keys(rest).length > 0 ? ',' + JSON.stringify(rest).slice(1) : '}'}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
