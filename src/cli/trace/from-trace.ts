/**
 * Turns a trace-event file into a timeline: one section per process, one lane per thread (in
 * the trace's `thread_sort_index` order), `X` spans and `B`/`E` pairs as spans, instants as marks.
 */
import type { TraceEvent, TraceFile } from 'threadkit';
import { bankStep } from '../bank/timeline.ts';
import { legendOf, type Lane, type Section, type Span, type Timeline } from './timeline.ts';

// read, sleep and write: the bank's steps as traces of earlier versions recorded them.
const KINDS = new Set(['wait', 'hold', 'mark', 'pool', 'lifetime', 'read', 'sleep', 'write']);

export function kindOf(e: TraceEvent): string {
  if (e.cat === 'lifetime' && e.ph === 'X') return 'run';
  // The steps of `threadkit bank`'s deposits keep their colours in any picture of its trace.
  const step = bankStep(e);
  if (step && step !== 'run') return step;
  return e.cat && KINDS.has(e.cat) ? e.cat : 'mark';
}

const ms = (us: number): string => `${Math.round(us) / 1000} ms`;

export function tipOf(e: TraceEvent, lane: string, start: number): string {
  const lines = [`${e.name}`, `${lane}`, `at ${ms(start)}${e.dur !== undefined ? `, for ${ms(e.dur)}` : ''}`];
  if (e.args && Object.keys(e.args).length > 0) lines.push(JSON.stringify(e.args));
  return lines.join('\n');
}

interface LaneBuild extends Lane {
  pid: number;
  tid: number;
  sort: number;
}

export function timelineOf(trace: TraceFile, title: string): Timeline {
  const names = new Map<string, string>();
  const procNames = new Map<number, string>();
  const sorts = new Map<string, number>();
  let origin = Infinity;
  for (const e of trace.traceEvents) {
    if (e.ph === 'M') {
      const key = `${e.pid}:${e.tid}`;
      if (e.name === 'thread_name') names.set(key, String(e.args?.name ?? key));
      else if (e.name === 'process_name') procNames.set(e.pid, String(e.args?.name ?? e.pid));
      else if (e.name === 'thread_sort_index') sorts.set(key, Number(e.args?.sort_index ?? 0));
    } else if (e.ts < origin) origin = e.ts;
  }
  if (origin === Infinity) origin = 0;
  const lanes = new Map<string, LaneBuild>();
  const laneOf = (e: TraceEvent): LaneBuild => {
    const key = `${e.pid}:${e.tid}`;
    let lane = lanes.get(key);
    if (!lane) {
      lane = { name: names.get(key) ?? `thread ${e.tid}`, spans: [], marks: [], pid: e.pid, tid: e.tid, sort: sorts.get(key) ?? 1e9 + lanes.size };
      lanes.set(key, lane);
    }
    return lane;
  };
  const open = new Map<string, TraceEvent[]>();
  const push = (lane: LaneBuild, e: TraceEvent, start: number, dur: number) => {
    const span: Span = { start, dur, kind: kindOf(e), tip: tipOf({ ...e, dur }, lane.name, start), label: e.name };
    lane.spans.push(span);
  };
  for (const e of trace.traceEvents) {
    if (e.ph === 'M') continue;
    const lane = laneOf(e);
    const start = e.ts - origin;
    if (e.ph === 'X') push(lane, e, start, e.dur ?? 0);
    else if (e.ph === 'B') {
      const key = `${e.pid}:${e.tid}`;
      (open.get(key) ?? open.set(key, []).get(key)!).push(e);
    } else if (e.ph === 'E') {
      const begin = open.get(`${e.pid}:${e.tid}`)?.pop();
      if (begin) push(lane, { ...begin, args: { ...begin.args, ...e.args } }, begin.ts - origin, e.ts - begin.ts);
    } else if (e.ph === 'i' || e.ph === 'I' || e.ph === 'R' || e.ph === 'n') {
      lane.marks.push({ at: start, kind: kindOf(e), tip: tipOf(e, lane.name, start) });
    }
  }
  const byProcess = new Map<number, LaneBuild[]>();
  for (const lane of lanes.values()) (byProcess.get(lane.pid) ?? byProcess.set(lane.pid, []).get(lane.pid)!).push(lane);
  const sections: Section[] = [...byProcess.entries()].map(([pid, list]) => ({
    title: procNames.get(pid) ?? `process ${pid}`,
    note: `${list.length} thread${list.length === 1 ? '' : 's'}`,
    lanes: list.sort((a, b) => a.sort - b.sort),
  }));
  return {
    title,
    sections,
    legend: legendOf(['run', 'wait', 'hold', 'pool', 'mark']),
  };
}
