/**
 * Merges the per-thread files of a trace directory into one trace-event file.
 *
 * Each OS thread wrote `<pid>-<tid>.jsonl`, its events tagged with `k`, the threadkit Thread
 * they ran in (0 outside one). Several Threads may share one OS thread (a carrier), so each
 * Thread gets a track of its own: an OS thread that ran one Thread and nothing else keeps its
 * OS tid; otherwise the carrier's own events keep the OS tid and each Thread on it gets a tid
 * above any the OS gives (2^30 on), its name saying which OS thread ran it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TraceEvent, TraceFile } from './format.ts';
import type { RawEvent } from './recorder.ts';

const SYNTHETIC_TID = 1 << 30;

export interface Merged {
  trace: TraceFile;
  /** Lines that could not be read (a thread killed in the middle of a write). */
  unreadable: number;
}

export function readTraceDir(dir: string): { events: RawEvent[]; unreadable: number } {
  const events: RawEvent[] = [];
  let unreadable = 0;
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.jsonl'));
  } catch {
    return { events, unreadable };
  }
  for (const name of names.sort()) {
    const text = readFileSync(join(dir, name), 'utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        events.push(JSON.parse(line) as RawEvent);
      } catch {
        unreadable++;
      }
    }
  }
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
