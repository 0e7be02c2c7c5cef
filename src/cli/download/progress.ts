/**
 * Live progress bars for a terminal: one bar per download in flight (name, bytes, speed, ETA)
 * and a total bar under them. The seed's story lines (pid, start, "done in N s") scroll above
 * the bars; a finished download's bar is removed, so the screen holds at most `-j` + 1 bars.
 * cli-progress does the redrawing; speed and ETA are computed here over a sliding window.
 */
import cliProgress from 'cli-progress';
import { fitWidth } from './names.ts';
import { formatBytes, PlainReporter, type Reporter, type Summary } from './report.ts';
import type { DownloadEvent, DownloadResult } from './messages.ts';

const WINDOW_MS = 3000;
/** Columns taken by the fixed-width fields: percent, sizes, speed, ETA and the spaces. */
const FIXED_WIDTH = 4 + 19 + 11 + 8 + 5;

/** Name and bar widths that fit the terminal (the rest of a line is fixed-width). */
function widths(): { name: number; bar: number } {
  const room = Math.max(20, (process.stdout.columns || 100) - FIXED_WIDTH - 2);
  const name = Math.min(26, Math.max(8, Math.floor(room / 2)));
  return { name, bar: Math.max(5, Math.min(30, room - name)) };
}

interface Track {
  bar: cliProgress.SingleBar;
  name: string;
  bytes: number;
  total: number | null;
  samples: Array<[number, number]>;
}

export class BarsReporter implements Reporter {
  private readonly multibar: cliProgress.MultiBar;
  private readonly tracks = new Map<number, Track>();
  private readonly totals: { bar: cliProgress.SingleBar; started: number; doneBytes: number; doneFiles: number; samples: Array<[number, number]> };
  private readonly story: PlainReporter;

  private readonly fileCount: number;

  constructor(fileCount: number) {
    this.fileCount = fileCount;
    this.multibar = new cliProgress.MultiBar({
      stream: process.stdout,
      format: (_options, params, payload: { line?: (progress: number) => string }) => payload.line?.(params.progress) ?? '',
      hideCursor: true,
      clearOnComplete: true,
      linewrap: false,
      fps: 10,
      gracefulExit: false,
    });
    const log = (line: string) => this.multibar.log(`${line}\n`);
    this.story = new PlainReporter(log, log);
    this.totals = { bar: this.multibar.create(1, 0, {}), started: performance.now(), doneBytes: 0, doneFiles: 0, samples: [] };
    this.renderTotal();
  }

  event(e: DownloadEvent): void {
    this.story.event(e);
    switch (e.type) {
      case 'start': {
        if (this.tracks.has(e.id)) break; // moved to a download thread (see messages.ts): one bar still
        const bar = this.multibar.create(1, 0, {});
        // Keep the total bar last.
        const bars = (this.multibar as unknown as { bars: unknown[] }).bars;
        bars.splice(bars.indexOf(bar), 1);
        bars.splice(bars.length - 1, 0, bar);
        this.tracks.set(e.id, { bar, name: new URL(e.url).pathname.split('/').pop() || e.url, bytes: 0, total: null, samples: [] });
        break;
      }
      case 'response': {
        const t = this.tracks.get(e.id);
        if (!t) break;
        t.name = e.name;
        t.total = e.total;
        t.bytes = e.offset;
        t.samples = [[performance.now(), e.offset]];
        break;
      }
      case 'progress': {
        const t = this.tracks.get(e.id);
        if (!t) break;
        t.bytes = e.bytes;
        if (e.total !== null) t.total = e.total;
        pushSample(t.samples, e.bytes);
        break;
      }
      case 'retry':
        break;
    }
    const t = this.tracks.get(e.id);
    if (t) this.render(t);
    this.renderTotal();
  }

  result(r: DownloadResult): void {
    const t = this.tracks.get(r.id);
    if (t) {
      this.multibar.remove(t.bar);
      this.tracks.delete(r.id);
    }
    this.totals.doneFiles++;
    if (r.status === 'done') this.totals.doneBytes += r.bytes;
    this.story.result(r);
    this.renderTotal();
  }

  finish(s: Summary): void {
    // Flush the story lines still buffered, then take the bars off the screen.
    this.multibar.update();
    this.multibar.stop();
    const stdout = new PlainReporter();
    stdout.finish(s);
  }

  private render(t: Track): void {
    const speed = speedOf(t.samples);
    const total = t.total;
    const w = widths();
    const label = fitWidth(t.name, w.name);
    t.bar.update(total ? t.bytes / total : 0, {
      line: (progress: number) =>
        `${label} ${bar(total ? progress : 0, w.bar)} ${percent(total ? progress : null)} ${sizes(t.bytes, total)} ${rate(speed)} ${eta(t.bytes, total, speed)}`,
    });
  }

  private renderTotal(): void {
    let bytes = this.totals.doneBytes;
    let total = this.totals.doneBytes;
    let known = true;
    for (const t of this.tracks.values()) {
      bytes += t.bytes;
      if (t.total === null) known = false;
      else total += t.total;
    }
    pushSample(this.totals.samples, bytes);
    const speed = speedOf(this.totals.samples);
    const pending = this.fileCount - this.totals.doneFiles - this.tracks.size;
    if (pending > 0) known = false;
    const w = widths();
    const label = fitWidth(`Total ${this.totals.doneFiles}/${this.fileCount} files`, w.name);
    const fraction = known && total > 0 ? bytes / total : 0;
    this.totals.bar.update(fraction, {
      line: () =>
        `${label} ${bar(fraction, w.bar)} ${percent(known ? fraction : null)} ${sizes(bytes, known ? total : null)} ${rate(speed)} ${eta(bytes, known ? total : null, speed)}`,
    });
  }
}

function pushSample(samples: Array<[number, number]>, bytes: number): void {
  const now = performance.now();
  samples.push([now, bytes]);
  while (samples.length > 2 && now - samples[0]![0] > WINDOW_MS) samples.shift();
}

function speedOf(samples: Array<[number, number]>): number {
  if (samples.length < 2) return 0;
  const [t0, b0] = samples[0]!;
  const [t1, b1] = samples[samples.length - 1]!;
  return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
}

function bar(fraction: number, width: number): string {
  const full = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return '█'.repeat(full) + '░'.repeat(width - full);
}

function percent(fraction: number | null): string {
  return fraction === null ? '   ?' : `${Math.floor(fraction * 100)}%`.padStart(4);
}

function sizes(bytes: number, total: number | null): string {
  return `${formatBytes(bytes)}/${total === null ? '?' : formatBytes(total)}`.padStart(19);
}

function rate(speed: number): string {
  return `${formatBytes(speed)}/s`.padStart(11);
}

function eta(bytes: number, total: number | null, speed: number): string {
  if (total === null || speed <= 0) return 'ETA  --';
  const s = Math.ceil(Math.max(0, (total - bytes) / speed));
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  return s >= 3600 ? `ETA ${Math.floor(s / 3600)}h${mm}` : `ETA ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
