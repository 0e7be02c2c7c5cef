/**
 * `threadkit bank --timeline race.html`: the bank's runs, traced, drawn as one picture. Each
 * depositor is a lane: read → sleep → write. In the race, a write that stores a balance computed
 * from a stale read overwrites the deposit written before it; that deposit is lost, drawn as a
 * red ring, with an arrow from the write that overwrote it. In the locked run the waits for the
 * Lock (orange) and its holds (green) line the writes up one after another.
 */
import type { TraceEvent, TraceFile } from 'threadkit';
import { legendOf, type Lane, type Link, type Mark, type Section, type Span, type Timeline } from '../trace/timeline.ts';
import type { BankStep } from './account.ts';
import type { BankRun } from './simulate.ts';

const ms = (us: number): string => `${(Math.round(us / 10) / 100).toFixed(2)} ms`;
const DEPOSIT = new Set<BankStep | undefined>(['read', 'sleep', 'write']);

/** Which step of the bank a trace event is (account.ts marks its spans with a `bank` argument). */
export function bankStep(e: TraceEvent): BankStep | undefined {
  const step = e.cat === 'mark' ? e.args?.bank : undefined;
  return step === 'read' || step === 'sleep' || step === 'write' || step === 'run' ? step : undefined;
}

interface Depositor {
  name: string;
  events: TraceEvent[];
  first: number;
}

interface Write {
  lane: Depositor;
  at: number;
  readAt: number;
  read: number;
  balance: number;
  id: string;
  /** The deposits this write erased. */
  overwrote: Write[];
  lostTo?: Write;
}

/**
 * Which deposits were lost, and to which write. A write stores the balance it read plus its
 * amount, so it carries the deposits of the write it read from (the latest earlier write of the
 * balance it read; none for the opening balance) and its own. The deposits the last write does
 * not carry are lost, as many as the bank counts; each is paired with the first later write that
 * does not carry it: the write that overwrote it.
 */
export function lostUpdates(writes: { at: number; readAt: number; read: number; balance: number }[], opening = 0): { lost: number; by: number }[] {
  const order = writes.map((_, i) => i).sort((a, b) => writes[a]!.at - writes[b]!.at);
  const carries = new Map<number, Set<number>>();
  order.forEach((i, k) => {
    const w = writes[i]!;
    // The latest write of the balance it read that landed before the read; failing that (clocks
    // of two threads a little apart), the latest write of that balance at all.
    let source: number | undefined;
    let fallback: number | undefined;
    for (const j of order.slice(0, k)) {
      if (writes[j]!.balance !== w.read) continue;
      if (writes[j]!.at < w.readAt) source = j;
      fallback = j;
    }
    if (source === undefined && w.read !== opening) source = fallback;
    const set = new Set(source === undefined ? [] : carries.get(source));
    set.add(i);
    carries.set(i, set);
  });
  const last = carries.get(order.at(-1)!) ?? new Set<number>();
  const out: { lost: number; by: number }[] = [];
  order.forEach((p, k) => {
    if (last.has(p)) return;
    const by = order.slice(k + 1).find((w) => !carries.get(w)!.has(p));
    if (by !== undefined) out.push({ lost: p, by });
  });
  return out;
}

function section(run: BankRun, depositors: Depositor[], origin: number, index: number): Section {
  const writes: Write[] = [];
  for (const d of depositors) {
    const read = d.events.find((e) => bankStep(e) === 'read');
    for (const e of d.events) {
      if (bankStep(e) === 'write') {
        writes.push({
          lane: d,
          at: e.ts - origin,
          readAt: (read?.ts ?? e.ts) - origin,
          read: Number(e.args?.read),
          balance: Number(e.args?.balance),
          id: `w${index}-${writes.length}`,
          overwrote: [],
        });
      }
    }
  }
  const lost = lostUpdates(writes);
  for (const { lost: p, by } of lost) {
    writes[by]!.overwrote.push(writes[p]!);
    writes[p]!.lostTo = writes[by];
  }
  const links: Link[] = [];
  const lanes: Lane[] = depositors.map((d) => {
    const spans: Span[] = [];
    const marks: Mark[] = [];
    d.events.forEach((e, i) => {
      const start = e.ts - origin;
      const dur = e.dur ?? 0;
      const step = bankStep(e);
      if (step === 'read') {
        // The balance read is in the arguments of the write that follows it.
        const balance = d.events.slice(i + 1).find((w) => bankStep(w) === 'write')?.args?.read;
        spans.push({ start, dur, kind: 'read', tip: `${d.name} read the balance: ¥${balance}, at ${ms(start)}` });
      } else if (step === 'sleep')
        spans.push({ start, dur, kind: 'sleep', label: e.name, tip: `${d.name} sleeps between its read and its write (the seed's sleep), ${ms(dur)}` });
      else if (e.cat === 'wait')
        spans.push({
          start,
          dur,
          kind: 'wait',
          label: 'wait for the lock',
          tip: `${d.name} waits for the Lock, ${ms(start)} to ${ms(start + dur)} (${ms(dur)})`,
        });
      else if (e.cat === 'hold') spans.push({ start, dur, kind: 'hold', tip: `${d.name} holds the Lock, ${ms(start)} to ${ms(start + dur)}` });
    });
    for (const w of writes.filter((x) => x.lane === d)) {
      const over = w.overwrote;
      let tip = `${d.name} wrote ¥${w.balance} at ${ms(w.at)} (it had read ¥${w.read} at ${ms(w.readAt)}).`;
      for (const o of over) tip += `\nIt overwrote the ¥${o.balance} that ${o.lane.name} wrote at ${ms(o.at)}, after this read: that deposit is lost.`;
      if (w.lostTo) tip += `\nLost: ${w.lostTo.lane.name} overwrote this write at ${ms(w.lostTo.at)}.`;
      if (w.lostTo) marks.push({ at: w.at, kind: 'lost', shape: 'ring', tip });
      marks.push({ at: w.at, kind: over.length > 0 ? 'overwrote' : 'write', shape: 'dot', tip, id: w.id, label: `¥${w.balance}${w.lostTo ? ' lost' : ''}` });
      for (const o of over) links.push({ from: w.id, to: o.id, kind: 'overwrote', tip: `${d.name}'s write of ¥${w.balance} overwrote ${o.lane.name}'s` });
    }
    return { name: d.name, spans, marks };
  });
  const how = run.lock ? 'With a Lock' : 'Without a lock';
  const verdict = run.lost === 0 ? 'no deposit lost' : `${run.lost} of ${run.threads} deposits lost`;
  const note = run.lock
    ? 'Each deposit waits (orange) until the one before it has written, then holds the Lock (green) for its read → sleep → write: the writes line up one after another, each adding to the last.'
    : `The depositors read the balance before the others have written theirs back, so most writes store a balance from a stale read: each red dot overwrote the writes its arrows point at, and those deposits (ringed in red) are lost.${lost.length === run.lost ? '' : ` (The trace shows ${lost.length} lost.)`}`;
  return {
    title: `${how}: ${run.threads} ${run.mode === 'process' ? 'processes' : 'threads'}, expected ¥${run.expected}, balance ¥${run.actual} — ${verdict} (${run.ms} ms)`,
    note,
    lanes,
    links,
  };
}

/** Builds the picture from the trace of the runs (the main thread marks each run with a `bank: 'run'` span). */
export function bankTimeline(trace: TraceFile, runs: BankRun[]): Timeline {
  const names = new Map<string, string>();
  for (const e of trace.traceEvents)
    if (e.ph === 'M' && e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, String(e.args?.name).replace(/ \(on OS thread \d+\)$/, ''));
  const spans = trace.traceEvents.filter((e) => e.ph === 'X' && bankStep(e) === 'run').sort((a, b) => a.ts - b.ts);
  const byLane = new Map<string, Depositor>();
  for (const e of trace.traceEvents) {
    if (e.ph === 'M') continue;
    const key = `${e.pid}:${e.tid}`;
    let d = byLane.get(key);
    if (!d) byLane.set(key, (d = { name: names.get(key) ?? `thread ${e.tid}`, events: [], first: Infinity }));
    d.events.push(e);
    if (DEPOSIT.has(bankStep(e)) && e.ts < d.first) d.first = e.ts;
  }
  const depositors = [...byLane.values()].filter((d) => d.first !== Infinity);
  const sections = runs.map((run, i) => {
    const span = spans[i];
    const inRun = depositors.filter((d) => span !== undefined && d.first >= span.ts && d.first <= span.ts + (span.dur ?? 0)).sort((a, b) => a.first - b.first);
    // Time from the first deposit's read: the Threads' start-up before it is not the story.
    let origin = inRun.length > 0 ? Infinity : (span?.ts ?? 0);
    for (const d of inRun) for (const e of d.events) if (e.cat !== 'lifetime' && e.ts < origin) origin = e.ts;
    return section(run, inRun, origin - 200, i);
  });
  const n = runs[0]?.threads ?? 0;
  return {
    title: `The bank account race: ${n} depositors, one balance`,
    intro: `Each lane is one depositor adding ¥${runs[0] ? runs[0].expected / n : 1} to a shared balance: it reads the balance (blue), sleeps (grey), and writes the balance it computed (a dot). Red means lost money.`,
    sections,
    legend: legendOf(['read', 'sleep', 'write', 'overwrote', 'lost', 'wait', 'hold'], { wait: 'waiting for the Lock', hold: 'holding the Lock' }),
  };
}
