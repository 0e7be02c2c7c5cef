/**
 * What the command prints. The story follows the seed: for each file the worker's pid, its
 * start, "done in N s"; at the end the total time and the sum of the individual times (what
 * running them in parallel saved). Reporters:
 * - `PlainReporter`: those lines, for logs and pipes (and the TTY reporter's text, see progress.ts).
 * - `JsonReporter` (`--json`): nothing while running, then one JSON `Summary` object.
 * - `NdjsonReporter` (`--ndjson`): one JSON object per line: every `DownloadEvent` as it happens
 *   (`start`, `response`, `progress`, `retry`), a `result` line per file (a `DownloadResult`),
 *   and last a `summary` line (a `Summary`). A file moved to a download thread (`--workers
 *   auto`) has two `start` lines, the second naming that thread.
 * - `QuietReporter` (`-q`): only failures, on stderr.
 */
import type { WorkerModel } from './workers.ts';
import type { DownloadEvent, DownloadResult } from './messages.ts';

export interface Summary {
  /** True when every file is `done` or `skipped`. */
  ok: boolean;
  exitCode: number;
  interrupted: boolean;
  workers: WorkerModel;
  jobs: number;
  outputDir: string;
  /** Wall-clock seconds of the whole run. */
  totalSeconds: number;
  /** The individual files' seconds added up: what one-after-another would have taken. */
  sumSeconds: number;
  /** The longest single file: the best any parallel run can do. */
  longestSeconds: number;
  /** Bytes of the complete files. */
  bytes: number;
  files: DownloadResult[];
  failed: number;
}

export interface Reporter {
  event(e: DownloadEvent): void;
  result(r: DownloadResult): void;
  finish(s: Summary): void;
}

export function summarize(
  files: DownloadResult[],
  meta: { workers: WorkerModel; jobs: number; outputDir: string; totalSeconds: number; interrupted: boolean },
): Summary {
  const ok = files.every((f) => f.status === 'done' || f.status === 'skipped');
  const ran = files.filter((f) => f.status !== 'skipped');
  return {
    ok,
    exitCode: meta.interrupted ? 130 : ok ? 0 : 1,
    ...meta,
    sumSeconds: ran.reduce((t, f) => t + f.seconds, 0),
    longestSeconds: ran.reduce((t, f) => Math.max(t, f.seconds), 0),
    bytes: files.reduce((t, f) => t + (f.status === 'done' || f.status === 'skipped' ? f.bytes : 0), 0),
    files,
    failed: files.filter((f) => f.status === 'failed').length,
  };
}

type Write = (line: string) => void;

/**
 * A line as it may reach a terminal: text a server chose (a reason phrase, a Location, a header
 * in an error) could carry escape sequences that retitle the terminal or recolour its output,
 * so C0 and C1 control characters and DEL are shown as `\xNN` instead. (File names are
 * cleaned where they are chosen, names.ts; JSON output escapes them itself.)
 */
export function printable(line: string): string {
  return line.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The seed's story, one line per thing that happened. */
export class PlainReporter implements Reporter {
  private readonly names = new Map<number, string>();
  private readonly who = new Map<number, string>();
  private readonly urls = new Map<number, string>();

  private readonly out: Write;
  private readonly err: Write;

  constructor(out: Write = (l) => process.stdout.write(`${l}\n`), err: Write = (l) => process.stderr.write(`${l}\n`)) {
    this.out = (l) => out(printable(l));
    this.err = (l) => err(printable(l));
  }

  event(e: DownloadEvent): void {
    switch (e.type) {
      case 'start':
        this.who.set(e.id, workerLabel(e));
        this.urls.set(e.id, e.url);
        break;
      case 'response': {
        const first = !this.names.has(e.id);
        this.names.set(e.id, e.name);
        if (!first) break;
        const size = e.total === null ? 'size unknown' : formatBytes(e.total);
        const resume = e.offset > 0 ? `, resuming at ${formatBytes(e.offset)}` : '';
        this.out(`${this.who.get(e.id) ?? ''} started ${e.name} (${size}${resume})`);
        break;
      }
      case 'restart':
        this.err(`${this.who.get(e.id) ?? ''} ${this.names.get(e.id) ?? this.urls.get(e.id) ?? 'download'}: ${e.reason}; restarting from zero`);
        break;
      case 'retry':
        this.err(
          `${this.who.get(e.id) ?? ''} ${this.names.get(e.id) ?? this.urls.get(e.id) ?? 'download'}: ${e.error.message} — retrying in ${(e.delayMs / 1000).toFixed(1)} s (try ${e.attempt})${e.bytes > 0 ? ` from ${formatBytes(e.bytes)}` : ''}`,
        );
        break;
      case 'progress':
        break;
    }
  }

  result(r: DownloadResult): void {
    this.out(resultLine(r, this.who.get(r.id) ?? workerLabel(r)));
  }

  finish(s: Summary): void {
    for (const line of summaryLines(s)) this.out(line);
    for (const line of failureLines(s)) this.err(line);
  }
}

export class QuietReporter implements Reporter {
  event(): void {}
  result(): void {}
  finish(s: Summary): void {
    for (const line of failureLines(s)) process.stderr.write(`${printable(line)}\n`);
  }
}

export class JsonReporter implements Reporter {
  event(): void {}
  result(): void {}
  finish(s: Summary): void {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
  }
}

export class NdjsonReporter implements Reporter {
  event(e: DownloadEvent): void {
    process.stdout.write(`${JSON.stringify(e)}\n`);
  }
  result(r: DownloadResult): void {
    process.stdout.write(`${JSON.stringify({ type: 'result', ...r })}\n`);
  }
  finish(s: Summary): void {
    process.stdout.write(`${JSON.stringify({ type: 'summary', ...s })}\n`);
  }
}

export function workerLabel(w: { pid: number; threadId: number }): string {
  return w.threadId > 0 ? `[pid ${w.pid} thread ${w.threadId}]` : `[pid ${w.pid}]`;
}

export function resultLine(r: DownloadResult, who: string): string {
  const name = r.name ?? r.url;
  switch (r.status) {
    case 'done': {
      const speed = r.seconds > 0 ? `, ${formatBytes(r.received / r.seconds)}/s` : '';
      const resumed = r.resumedFrom > 0 ? `, resumed at ${formatBytes(r.resumedFrom)}` : '';
      const verified = r.sha256 ? ', sha256 verified' : '';
      return `${who} ${name} done in ${formatSeconds(r.seconds)} (${formatBytes(r.bytes)}${speed}${resumed}${verified})`;
    }
    case 'skipped':
      return `${who} ${name} already there with the same content; left as it is`;
    case 'interrupted':
      return `${who} ${name} interrupted${r.path ? `; kept ${r.path} (${formatBytes(r.bytes)})` : ''}`;
    case 'failed':
      return `${who} ${name} FAILED after ${formatSeconds(r.seconds)}: ${r.error?.message ?? 'unknown error'}`;
  }
}

export function summaryLines(s: Summary): string[] {
  const lines: string[] = [];
  const done = s.files.filter((f) => f.status === 'done' || f.status === 'skipped').length;
  lines.push(
    `Total: ${formatSeconds(s.totalSeconds)} for ${done} of ${s.files.length} file${s.files.length === 1 ? '' : 's'} (${formatBytes(s.bytes)}, ${s.workers} workers, -j ${s.jobs}).`,
  );
  // The parallel story needs two downloads that ran to their end.
  if (s.files.filter((f) => f.status === 'done').length > 1) {
    const saved = s.sumSeconds - s.totalSeconds;
    lines.push(
      `One after another they would have taken ${formatSeconds(s.sumSeconds)} (the sum); in parallel the total is about the longest, ${formatSeconds(s.longestSeconds)}` +
        (saved > 0 ? `: ${formatSeconds(saved)} saved.` : '.'),
    );
  }
  return lines;
}

export function failureLines(s: Summary): string[] {
  const lines: string[] = [];
  const failed = s.files.filter((f) => f.status === 'failed');
  if (failed.length > 0) {
    lines.push(`${failed.length} of ${s.files.length} download${s.files.length === 1 ? '' : 's'} failed:`);
    for (const f of failed) lines.push(`  ${f.url}: ${f.error?.message ?? 'unknown error'} [${f.error?.code ?? '?'}]`);
  }
  if (s.interrupted) {
    const kept = s.files.filter((f) => f.status === 'interrupted' && f.path).length;
    lines.push(`Interrupted${kept ? `; ${kept} .part file${kept === 1 ? '' : 's'} kept` : ''}: run the same command with -c to resume.`);
  }
  return lines;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function formatSeconds(s: number): string {
  return `${s.toFixed(2)} s`;
}
