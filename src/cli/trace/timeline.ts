/**
 * A timeline picture as one self-contained HTML file: an SVG lane per thread, spans coloured by
 * kind (waits apart from holds), moments as small triangles, links between spans (a lost
 * update and the write that overwrote it). No network, no CDN: the styles and the few lines of
 * script that zoom and pan are inline. The picture is drawn on the server side too, so the
 * file shows it even where scripts are off.
 *
 * Times are microseconds from the start of each section.
 */
import { PAGE_SCRIPT, PAGE_STYLE } from './page-assets.ts';

export interface Span {
  start: number;
  dur: number;
  /** Written inside the span when it is wide enough. */
  label?: string;
  /** CSS kind: wait, hold, run, mark, pool, read, sleep, write, lost, overwrote. */
  kind: string;
  /** What hover shows. */
  tip: string;
  /** For links. */
  id?: string;
}

export interface Mark {
  at: number;
  kind: string;
  tip: string;
  /** triangle (default), dot, or ring (a hollow circle). */
  shape?: 'triangle' | 'dot' | 'ring';
  /** Written to the right of the mark. */
  label?: string;
  /** For links: a link ends at the mark. */
  id?: string;
}

export interface Lane {
  name: string;
  spans: Span[];
  marks: Mark[];
}

export interface Link {
  from: string;
  to: string;
  kind: string;
  tip: string;
}

export interface Section {
  title: string;
  note?: string;
  lanes: Lane[];
  links?: Link[];
}

export interface Timeline {
  title: string;
  intro?: string;
  sections: Section[];
  legend: { kind: string; label: string }[];
}

/** What each kind of span or mark means, in the legend of a picture that draws it. */
const KIND_LABELS = {
  run: 'Thread / Process running',
  wait: 'waiting (lock, semaphore, condition, queue)',
  hold: 'holding a lock or semaphore',
  pool: 'pool task',
  mark: 'trace.span / trace.mark',
  read: 'read the balance',
  sleep: 'sleep between read and write',
  write: 'write that counted',
  overwrote: 'write that overwrote another (stale read)',
  lost: 'deposit lost: overwritten',
} as const;

export type Kind = keyof typeof KIND_LABELS;

/** The legend of a picture that draws `kinds`, in that order; `labels` words some its own way. */
export function legendOf(kinds: Kind[], labels: Partial<Record<Kind, string>> = {}): Timeline['legend'] {
  return kinds.map((kind) => ({ kind, label: labels[kind] ?? KIND_LABELS[kind] }));
}

export const LABEL_W = 190;
export const INITIAL_W = 1200;
const ROW_H = 12;
const LANE_PAD = 2;
const AXIS_H = 22;
const MIN_SPAN_PX = 2;

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Rows within a lane: each span in the first row where it overlaps nothing (nested spans go below). */
function pack(spans: Span[]): number[] {
  const order = spans.map((_, i) => i).sort((a, b) => spans[a]!.start - spans[b]!.start || spans[b]!.dur - spans[a]!.dur);
  const ends: number[] = [];
  const rows = new Array<number>(spans.length);
  for (const i of order) {
    const s = spans[i]!;
    let r = ends.findIndex((end) => end <= s.start);
    if (r < 0) r = ends.push(0) - 1;
    ends[r] = s.start + Math.max(s.dur, 0.001);
    rows[i] = r;
  }
  return rows;
}

const fmt = (n: number): string => String(Math.round(n * 100) / 100);

function extentOf(section: Section): number {
  let max = 1;
  let labels = false;
  for (const lane of section.lanes) {
    for (const s of lane.spans) max = Math.max(max, s.start + s.dur);
    for (const m of lane.marks) {
      max = Math.max(max, m.at);
      labels ||= m.label !== undefined;
    }
  }
  // Room for the labels written right of the last marks.
  return max * (labels ? 1.1 : 1.02);
}

function renderSection(section: Section, index: number): string {
  const extent = extentOf(section);
  const scale = (INITIAL_W - LABEL_W - 10) / extent;
  const x = (us: number): number => LABEL_W + us * scale;
  const centers = new Map<string, { x: number; y: number }>();
  const parts: string[] = [];
  let y = AXIS_H;
  for (const lane of section.lanes) {
    const rows = pack(lane.spans);
    const height = Math.max(1, ...rows.map((r) => r + 1)) * ROW_H + LANE_PAD * 2;
    parts.push(
      `<g class="lane"><rect class="lane-bg" x="0" y="${y}" width="100%" height="${height}"/><text class="lane-label" x="6" y="${y + ROW_H - 1}">${escapeHtml(lane.name)}</text><g clip-path="url(#clip-${index})">`,
    );
    lane.spans.forEach((s, i) => {
      const top = y + LANE_PAD + rows[i]! * ROW_H;
      const w = Math.max(MIN_SPAN_PX, s.dur * scale);
      if (s.id) centers.set(s.id, { x: s.start + s.dur / 2, y: top + ROW_H / 2 });
      parts.push(
        `<rect class="span k-${s.kind}" data-s="${fmt(s.start)}" data-d="${fmt(s.dur)}" x="${fmt(x(s.start))}" y="${top + 1}" width="${fmt(w)}" height="${ROW_H - 2}"><title>${escapeHtml(s.tip)}</title></rect>`,
      );
      if (s.label)
        parts.push(
          `<text class="span-label lk-${s.kind}" data-s="${fmt(s.start)}" data-d="${fmt(s.dur)}" x="${fmt(x(s.start) + 2)}" y="${top + ROW_H - 3}">${escapeHtml(s.label)}</text>`,
        );
    });
    for (const m of lane.marks) {
      const my = y + LANE_PAD + (m.shape === undefined || m.shape === 'triangle' ? 0 : ROW_H / 2);
      if (m.id) centers.set(m.id, { x: m.at, y: my });
      const d =
        m.shape === 'dot'
          ? 'M-3.5 0a3.5 3.5 0 1 0 7 0a3.5 3.5 0 1 0 -7 0Z'
          : m.shape === 'ring'
            ? 'M-4.5 0a4.5 4.5 0 1 0 9 0a4.5 4.5 0 1 0 -9 0Z'
            : 'M-4 0L4 0L0 7Z';
      parts.push(
        `<path class="mark k-${m.kind}" data-s="${fmt(m.at)}" data-y="${my}" transform="translate(${fmt(x(m.at))},${my})" d="${d}"><title>${escapeHtml(m.tip)}</title></path>`,
      );
      if (m.label)
        parts.push(`<text class="mark-label lk-${m.kind}" data-s="${fmt(m.at)}" x="${fmt(x(m.at) + 7)}" y="${my + 3}">${escapeHtml(m.label)}</text>`);
    }
    parts.push('</g></g>');
    y += height;
  }
  const links: string[] = [];
  for (const l of section.links ?? []) {
    const a = centers.get(l.from);
    const b = centers.get(l.to);
    if (!a || !b) continue;
    links.push(
      `<line class="link k-${l.kind}" data-s1="${fmt(a.x)}" data-s2="${fmt(b.x)}" x1="${fmt(x(a.x))}" y1="${a.y}" x2="${fmt(x(b.x))}" y2="${b.y}" marker-end="url(#arrow)"><title>${escapeHtml(l.tip)}</title></line>`,
    );
  }
  const height = y + 4;
  return `<section class="timeline" data-extent="${fmt(extent)}">
<h2>${escapeHtml(section.title)}</h2>${section.note ? `<p class="note">${escapeHtml(section.note)}</p>` : ''}
<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${INITIAL_W}" height="${height}" viewBox="0 0 ${INITIAL_W} ${height}">
<clipPath id="clip-${index}"><rect class="clip" x="${LABEL_W}" y="0" width="${INITIAL_W - LABEL_W}" height="${height}"/></clipPath>
<g class="axis" data-h="${height}"></g>
<g class="lanes">${parts.join('')}</g>
<g class="links" clip-path="url(#clip-${index})">${links.join('')}</g>
</svg>
</section>`;
}

export function renderTimeline(timeline: Timeline): string {
  const legend = timeline.legend.map((l) => `<span class="key"><i class="k-${l.kind}"></i>${escapeHtml(l.label)}</span>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(timeline.title)}</title>
<style>${PAGE_STYLE}</style></head>
<body>
<header><h1>${escapeHtml(timeline.title)}</h1>${timeline.intro ? `<p class="intro">${escapeHtml(timeline.intro)}</p>` : ''}
<div class="bar"><div class="legend">${legend}</div>
<div class="zoom"><button type="button" data-zoom="in" title="Zoom in">+</button><button type="button" data-zoom="out" title="Zoom out">−</button><button type="button" data-zoom="reset" title="Show everything">fit</button>
<span class="hint">Ctrl + wheel zooms at the pointer, drag pans, hover for details</span></div></div></header>
<svg width="0" height="0" style="position:absolute"><defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L8 4L0 8Z" class="arrow-head"/></marker></defs></svg>
<main>${timeline.sections.map(renderSection).join('\n')}</main>
<div id="tip" role="tooltip" hidden></div>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
