/**
 * The Chrome trace-event format, as far as threadkit writes and reads it: the JSON object form
 * `{ traceEvents: [...] }` that Perfetto and `chrome://tracing` open. Every event has `name`,
 * `ph` (phase), `ts` (microseconds), `pid` and `tid`; threadkit writes complete spans (`X`, with
 * `dur`), moments (`i`) and metadata (`M`: process and thread names, the order of the tracks).
 */

export interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  cat?: string;
  dur?: number;
  s?: string;
  args?: Record<string, unknown>;
}

export interface TraceFile {
  traceEvents: TraceEvent[];
  displayTimeUnit?: 'ms' | 'ns';
  otherData?: Record<string, unknown>;
}

/** The phases of the format (the spec's list); threadkit writes X, i and M. */
const PHASES = new Set(['B', 'E', 'X', 'i', 'I', 'C', 'b', 'n', 'e', 's', 't', 'f', 'P', 'N', 'O', 'D', 'M', 'V', 'v', 'R', 'c', '(', ')']);

/**
 * What is wrong with `value` as a trace file: an empty list when nothing is. Checks the required
 * fields of every event (name, ph, ts, pid, tid), `dur` of `X` spans, and that `B`/`E` pairs
 * balance per track.
 */
export function traceProblems(value: unknown, max = 20): string[] {
  const problems: string[] = [];
  if (value === null || typeof value !== 'object' || !Array.isArray((value as TraceFile).traceEvents)) {
    return ['not a trace: expected a JSON object with a "traceEvents" array'];
  }
  const events = (value as TraceFile).traceEvents;
  const open = new Map<string, number>();
  for (let i = 0; i < events.length && problems.length < max; i++) {
    const e = events[i] as unknown as Record<string, unknown>;
    const at = `traceEvents[${i}]`;
    if (e === null || typeof e !== 'object') {
      problems.push(`${at} is not an object`);
      continue;
    }
    if (typeof e.name !== 'string') problems.push(`${at}.name must be a string, got ${JSON.stringify(e.name)}`);
    if (typeof e.ph !== 'string' || !PHASES.has(e.ph)) problems.push(`${at}.ph must be a trace-event phase such as "X", got ${JSON.stringify(e.ph)}`);
    if (typeof e.ts !== 'number' || !Number.isFinite(e.ts)) problems.push(`${at}.ts must be a number of microseconds, got ${JSON.stringify(e.ts)}`);
    for (const field of ['pid', 'tid'] as const) {
      if (!Number.isInteger(e[field])) problems.push(`${at}.${field} must be an integer, got ${JSON.stringify(e[field])}`);
    }
    if (e.ph === 'X' && (typeof e.dur !== 'number' || !(e.dur >= 0)))
      problems.push(`${at}.dur must be a number >= 0 for a complete ("X") event, got ${JSON.stringify(e.dur)}`);
    if (e.ph === 'B' || e.ph === 'E') {
      const key = `${e.pid}:${e.tid}`;
      const depth = (open.get(key) ?? 0) + (e.ph === 'B' ? 1 : -1);
      if (depth < 0) problems.push(`${at} ends a span ("E") that no "B" began on pid ${e.pid} tid ${e.tid}`);
      open.set(key, Math.max(0, depth));
    }
  }
  for (const [key, depth] of open) if (depth > 0 && problems.length < max) problems.push(`${depth} span(s) begun ("B") on pid:tid ${key} never end ("E")`);
  return problems;
}
