/**
 * Downloads one file: the orchestration of the pieces it is made of. A `GET` that follows
 * redirects (follow-redirects.ts over http-get.ts, the single request) is streamed into the
 * part file (part-file.ts: `NAME.part` with its `.part.meta` record and `.part.lock`), resumed
 * with `Range` after a dropped connection or (with `-c`) a previous run, retried on transient
 * errors as retry-policy.ts says, verified (size, optional sha256) and only then renamed to
 * `NAME`.
 *
 * What this file decides, and the pieces do not: the HTTP semantics of a download. Which
 * answer means what (200: fresh, or Range ignored; 206: resumed, held to the record; 416: the
 * `.part` may be whole already), when the name changes (Content-Disposition), when to start
 * again from zero (a `restart` event says why), and what to do with a final name that exists
 * (skip when provably the same, fail when provably different, else compare at the end).
 *
 * A body of at most 256 KiB whose size is known is read into memory and written with one
 * synchronous open/write/close and a rename: no `.part.meta`, no lock, no thread-pool round
 * trips. With the existence check of the final name (a stat), that is five system calls a file.
 *
 * Memory use is flat in the file size: the body streams from the socket to the file.
 *
 * A change here is a change of resume, restart, skip or naming behaviour: test/download/
 * (resume, changed, crash, files, errors) holds every case.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { DownloadError, asDownloadError, toErrorInfo } from './errors.ts';
import { getFollowingRedirects } from './follow-redirects.ts';
import type { HttpResponse } from './http-get.ts';
import { httpError, parseContentRange } from './http-answers.ts';
import { changeFrom, findPartOf, ifRangeOf, loadCrypto, PartFile, recordOf, sha256Of, untrusted } from './part-file.ts';
import { chooseName, FALLBACK_NAME, nameFromUrl } from './names.ts';
import type { DownloadJob, DownloadResult, EmitEvent } from './messages.ts';
import { RetryPolicy } from './retry-policy.ts';

const USER_AGENT = 'threadkit-download/0.1';
/** Bodies up to this size (with a Content-Length) are read into memory and written at once. */
const SMALL_BODY = 256 * 1024;
/** Re-asks (for another name's `.part`, or after a Range answer that does not fit) before giving up. */
const MAX_REASKS = 5;
/** https bodies without a length, each cut short, before giving up (see `proveEnd`). */
const MAX_UNPROVEN_ENDS = 3;

export interface DownloadOptions {
  emit: EmitEvent;
  /** Aborting stops the download at once and keeps its `.part` (Ctrl-C). */
  signal?: AbortSignal;
  /**
   * Names being written by the other downloads of this run, when they share this thread
   * (inline): tells two URLs that save to one name apart without a lock file per file.
   */
  names?: Map<string, number>;
  /** Where a large body goes instead of this thread (`auto`: to a download thread). */
  handOff?: HandOff;
}

/**
 * Large bodies elsewhere: a download from byte 0 on its first try — nothing on disk to resume,
 * no restart, no lock file taken yet — whose response announces a Content-Length of at least
 * `minBytes` is not read here while `open`; its socket is closed and `run(name, reachedUrl)`
 * downloads it again from the start in another place, from the URL this request reached after
 * its redirects (one may answer once only), and whose result becomes this job's. The name this
 * download claimed stays claimed until then, so that a later download of this thread cannot
 * take it meanwhile; the other place must save under that same name (`DownloadJob.claimedName`).
 */
export interface HandOff {
  readonly minBytes: number;
  readonly open: boolean;
  run(name: string, reachedUrl: string): Promise<DownloadResult>;
}

/** What `attempt` returns when the body goes elsewhere (see `HandOff`). */
const HANDED_OFF = 'handed-off';

/** Runs one job to its end. Never throws: failures come back as `status: 'failed'`. */
export async function downloadFile(job: DownloadJob, { emit, signal, names, handOff }: DownloadOptions): Promise<DownloadResult> {
  const started = performance.now();
  emit({ type: 'start', id: job.id, url: job.url, at: Date.now(), pid: process.pid, threadId });
  const d = new Download(job, emit, signal, names, handOff);
  const result: DownloadResult = {
    id: job.id,
    url: job.url,
    status: 'failed',
    bytes: 0,
    received: 0,
    resumedFrom: 0,
    seconds: 0,
    attempts: 0,
    pid: process.pid,
    threadId,
  };
  try {
    const outcome = await d.run();
    if (outcome === HANDED_OFF) {
      try {
        const moved = await handOff!.run(d.part!.name, d.reached!);
        // Saved there under the name claimed here: it stays taken for the rest of the run.
        if (moved.status === 'done') d.part!.markSaved();
        return moved;
      } finally {
        d.part?.release();
      }
    }
    Object.assign(result, outcome);
  } catch (err) {
    d.part?.release();
    const aborted = signal?.aborted === true;
    result.status = aborted ? 'interrupted' : 'failed';
    result.error = toErrorInfo(aborted ? new DownloadError('TK_DL_INTERRUPTED', 'interrupted; run again with -c to resume') : err);
    if (d.part) {
      result.name = d.part.name;
      if (d.part.ownsPart) {
        const left = await d.part.size();
        if (left > 0) Object.assign(result, { path: d.part.partPath, bytes: left });
      }
    }
  }
  d.part?.release();
  result.attempts = d.attempts;
  result.received = d.received;
  result.resumedFrom = Math.max(0, d.resumedFrom);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

class Download {
  /** Set once the URL is good: the file this download writes, under its name so far. */
  part: PartFile | undefined;
  /** Where the request handed off ended, after its redirects (see `HandOff`). */
  reached: string | undefined;
  attempts = 0;
  received = 0;
  resumedFrom = -1;
  /** Set when the final name exists without --force: compare the download with it at the end. */
  private compareWithExisting = false;
  private existingChecked = false;
  /** Whether the next try starts from the `.part` on disk (-c, or any retry). */
  private resumeFromDisk = false;
  /** A `restart` event was sent: the download is no longer a plain first try (see `HandOff`). */
  private restarted = false;
  /** A `.part` of an earlier try or run was on disk: a small body that replaces it removes it. */
  private partSeen = false;
  /** Where https bodies without a length ended so far (see `proveEnd`). */
  private unprovenEnds: number[] = [];

  private readonly job: DownloadJob;
  private readonly emit: EmitEvent;
  private readonly signal: AbortSignal | undefined;
  private readonly names: Map<string, number> | undefined;
  private readonly handOff: HandOff | undefined;

  constructor(job: DownloadJob, emit: EmitEvent, signal: AbortSignal | undefined, names: Map<string, number> | undefined, handOff: HandOff | undefined) {
    this.job = job;
    this.names = names;
    this.handOff = handOff;
    this.emit = emit;
    this.signal = signal;
  }

  async run(): Promise<Partial<DownloadResult> | typeof HANDED_OFF> {
    const { job } = this;
    let url: URL;
    try {
      url = new URL(job.url);
    } catch {
      throw new DownloadError('TK_DL_BAD_URL', `'${job.url}' is not a URL; give a full http:// or https:// URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new DownloadError('TK_DL_BAD_URL', `'${job.url}' uses ${url.protocol.slice(0, -1)}, which is not supported; use http:// or https://`);
    }
    // The name is a guess until the headers arrive (Content-Disposition may change it).
    const name = job.claimedName ?? (job.resume ? await findPartOf(job.dir, job.url) : undefined) ?? nameFromUrl(url) ?? FALLBACK_NAME;
    const part = new PartFile(job, name, this.names);
    this.part = part;
    this.resumeFromDisk = job.resume;
    const retry = new RetryPolicy(job);
    let reasks = 0;
    let furthest = 0;
    for (;;) {
      this.attempts++;
      const receivedBefore = this.received;
      try {
        // Moved here by a HandOff, the first try asks where the first request ended; a retry
        // starts again from the URL given (a signed redirect target may have expired).
        const from = this.attempts === 1 && job.reachedUrl !== undefined ? new URL(job.reachedUrl) : url;
        const outcome = await this.attempt(part, from, this.resumeFromDisk ? await this.resumePoint(part) : 0);
        if (outcome !== 'again') return outcome;
        // Re-asking with the right name or Range is not a failed try (but is bounded, unless
        // each answer brought bytes, as a server that sends a large file in ranges does).
        this.attempts--;
        if (this.received > receivedBefore) reasks = 0;
        else if (++reasks > MAX_REASKS) {
          throw new DownloadError('TK_DL_RANGE', "the server's answers to Range requests do not fit together; try again without -c");
        }
      } catch (err) {
        if (this.signal?.aborted) throw err;
        const e = asDownloadError(err, job.url);
        const after = await part.size();
        // Progress is bytes on disk past any try before: a server that drops every answer at the
        // same point (after ignoring Range, say) makes none, and runs out of retries.
        const progressed = this.received > receivedBefore && after > furthest;
        furthest = Math.max(furthest, after);
        const delayMs = retry.delayAfter(e, this.attempts, progressed);
        if (delayMs === undefined) throw e;
        this.emit({ type: 'retry', id: job.id, attempt: this.attempts + 1, delayMs, bytes: after, error: toErrorInfo(e) });
        await sleep(delayMs, undefined, { signal: this.signal });
        // From here on, what is on disk is ours: resume from it.
        this.resumeFromDisk = true;
      }
    }
  }

  /**
   * Where a resume starts: the size of the `.part` (a prefix, as it is written in order) when
   * its record can be trusted, else 0 (with a `restart` event saying why).
   */
  private async resumePoint(part: PartFile): Promise<number> {
    const { size, foreign } = await part.onDisk();
    if (foreign) {
      this.partSeen = true; // a small body that comes whole removes it too
      this.restart(part, `cannot resume: ${foreign}; it is replaced by a new .part`);
      return 0;
    }
    if (size === 0) return 0;
    this.partSeen = true;
    const record = await part.loadRecord();
    const why =
      untrusted(record, this.job.url) ??
      (record!.total !== undefined && size > record!.total ? `the .part (${size} bytes) is larger than the file (${record!.total})` : undefined);
    if (why) {
      this.restart(part, `cannot resume the .part: ${why}`);
      return 0;
    }
    return size;
  }

  /** The next try starts from zero; one line says why. */
  private restart(part: PartFile, reason: string): void {
    this.restarted = true;
    part.record = undefined;
    this.resumeFromDisk = false;
    this.emit({ type: 'restart', id: this.job.id, reason });
  }

  /** One request. Returns the result, 'again' to re-request at once, HANDED_OFF (see `HandOff`), or throws. */
  private async attempt(part: PartFile, url: URL, offset: number): Promise<Partial<DownloadResult> | 'again' | typeof HANDED_OFF> {
    const { job } = this;
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      const validator = ifRangeOf(part.record!);
      if (validator) headers['if-range'] = validator;
    }
    const { res, finalUrl } = await getFollowingRedirects(url, headers, this.requestOptions());
    try {
      const status = res.status;
      if (status === 416 && offset > 0) {
        // Our Range starts at or past the end: the .part may already be the whole file.
        part.claim();
        const total = parseContentRange(res.headers['content-range'])?.total ?? null;
        const recorded = part.record?.total;
        // No size in the 416 and none recorded (a body without a length): nothing past the
        // .part is the answer, unless its validators say the file changed.
        const change =
          total === null && recorded === undefined
            ? changeIn416(part, res)
            : total !== offset && !(total === null && recorded === offset)
              ? `the server has ${total ?? 'an unknown number of'} bytes, the .part ${offset}`
              : recorded !== undefined && recorded !== (total ?? recorded)
                ? `its size changed from ${recorded} to ${total} bytes`
                : changeIn416(part, res);
        if (change) {
          this.restart(part, `the file changed on the server: ${change}`);
          return 'again';
        }
        this.existingChecked = true;
        return (await this.checkExisting(part, offset)) ?? this.finish(part, offset);
      }
      if (status < 200 || status >= 300) throw httpError(status, res, job.url);

      // Moved here by a HandOff: the name the first request got is held for this download, even
      // when the server names each answer anew (a time-stamped export, say).
      const name = job.claimedName ?? chooseName(url, finalUrl, res.headers['content-disposition']);
      if (name !== part.name) {
        // The server named the file: re-ask with a Range for that name's .part, if resuming.
        part.rename(name);
        if (offset > 0 || (this.resumeFromDisk && (await part.size()) > 0)) return 'again';
      }

      part.claimName();
      let start = 0;
      let total: number | null = null;
      let rangeEnd: number | undefined;
      const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : null;
      const range = status === 206 ? parseContentRange(res.headers['content-range']) : undefined;
      // A 206 of the whole file (bytes 0-(N-1)/N) to a request without Range is the whole file, as a 200 is.
      const wholeAs206 = status === 206 && offset === 0 && range?.start === 0 && range.total !== null && range.end === range.total - 1;
      if (range && range.start >= 0 && length !== null && length !== range.end - range.start + 1) {
        // Its length and its range disagree: which bytes are which cannot be known.
        if (offset === 0) {
          throw new DownloadError(
            'TK_DL_PROTOCOL',
            `the server answered with Content-Length ${length} for Content-Range ${res.headers['content-range']} (${range.end - range.start + 1} bytes); the server is at fault`,
          );
        }
        this.restart(
          part,
          `the server's answer to bytes ${offset}- had Content-Length ${length} for Content-Range ${res.headers['content-range']} (${range.end - range.start + 1} bytes), so its bytes cannot be placed`,
        );
        return 'again';
      }
      if (status === 206 && !wholeAs206) {
        if (offset === 0) {
          // No Range was asked: asking again would get the same part.
          throw new DownloadError(
            'TK_DL_RANGE',
            `the server answered a request for the whole file with a part of it (206, ${res.headers['content-range'] ?? 'no Content-Range'}); the server is at fault`,
          );
        }
        if (!range || range.start !== offset) {
          const sent = !range ? '(no Content-Range)' : range.start < 0 ? `*/${range.total ?? '*'} (no range at all)` : `${range.start}-${range.end}`;
          this.restart(part, `the server answered bytes ${sent} to a request for bytes ${offset}-`);
          return 'again';
        }
        const change = changeFrom(part.record!, res.headers, range.total);
        if (change) {
          this.restart(part, `the file changed on the server: ${change}`);
          return 'again';
        }
        start = offset;
        rangeEnd = range.end;
        // `bytes 5-9/*`: the server does not say the size; the first answer did.
        total = range.total ?? part.record!.total ?? null;
      } else {
        // 200: a fresh download, or a server that ignores Range (or whose If-Range failed).
        if (offset > 0) this.restart(part, 'the server sent the whole file again (it ignores Range, or If-Range found the file changed)');
        total = wholeAs206 ? range.total! : length;
      }
      if (this.resumedFrom < 0) this.resumedFrom = start;

      if (!this.existingChecked) {
        this.existingChecked = true;
        const skipped = await this.checkExisting(part, total);
        if (skipped) return skipped;
      }
      const { handOff } = this;
      if (handOff?.open && this.attempts === 1 && !this.restarted && !part.ownsPart && start === 0 && total !== null && total >= handOff.minBytes) {
        // The URL's credentials go to its own origin (follow-redirects.ts): a same-origin target keeps them.
        const reached = new URL(finalUrl);
        if (reached.origin === url.origin && reached.username === '' && reached.password === '') {
          reached.username = url.username;
          reached.password = url.password;
        }
        this.reached = reached.href;
        return HANDED_OFF;
      }

      this.emit({ type: 'response', id: job.id, name, status, offset: start, total });
      if (start === 0) {
        part.record = recordOf(job.url, res.headers, total);
        if (total !== null && total <= SMALL_BODY) {
          // The body may lie in the connection's buffer until its next read: finishSmall uses it
          // before any I/O, so node:crypto is loaded first when it will hash it.
          if (job.sha256 || this.compareWithExisting) await loadCrypto();
          const body = await res.readSmall(SMALL_BODY);
          if (body) return this.finishSmall(part, body);
        }
        part.claim();
        await part.saveRecord();
      }
      part.claim();
      try {
        await this.receive(part, res, start, total);
      } catch (err) {
        // Bytes written to a .part whose name is gone end in a drop or a write error: the cause is the removal.
        throw (await part.vanished()) ?? err;
      }
      const size = await part.size();
      if (size === 0) {
        const gone = await part.vanished();
        if (gone) throw gone;
      }
      if (status === 206 && rangeEnd !== undefined && size === rangeEnd + 1 && (total === null || size < total)) {
        // The server sent the whole of a shorter range than asked (it may cap each answer), or
        // of one whose file size it does not say (`bytes S-E/*`), which proves no end: ask for
        // the rest, from what is on disk (a 416 then says there is none).
        this.resumeFromDisk = true;
        return 'again';
      }
      if (total !== null && size !== total) {
        throw new DownloadError('TK_DL_NETWORK', `connection closed after ${size} of ${total} bytes`, { transient: true });
      }
      if (total === null && res.endsAtClose && finalUrl.protocol === 'https:' && (await this.proveEnd(finalUrl, part, size)) === 'more') {
        this.resumeFromDisk = true;
        return 'again';
      }
      return this.finish(part, size);
    } finally {
      res.destroy();
    }
  }

  /**
   * An https body without a length ended where the server closed the connection, after `size`
   * bytes on disk. Over TLS only a close_notify proves that end, and Node cannot tell one from a
   * cut connection (curl and wget2 take either as the end). So the server is asked for the bytes
   * after it: a 416 proves the end ('whole'); a 206 says there are more ('more': the download
   * resumes, or restarts when the .part cannot be trusted). Anything else proves nothing: the
   * download fails with TK_DL_UNPROVEN and keeps its .part. Fails too after MAX_UNPROVEN_ENDS
   * answers that were each cut.
   */
  private async proveEnd(url: URL, part: PartFile, size: number): Promise<'whole' | 'more'> {
    this.unprovenEnds.push(size);
    if (this.unprovenEnds.length > MAX_UNPROVEN_ENDS) {
      throw new DownloadError(
        'TK_DL_NETWORK',
        `the server sends no length, and each of its answers was cut short (after ${this.unprovenEnds.join(', ')} bytes); try again later`,
        { transient: true },
      );
    }
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', range: `bytes=${size}-` };
    const validator = part.record && ifRangeOf(part.record);
    if (validator) headers['if-range'] = validator;
    const { res } = await getFollowingRedirects(url, headers, this.requestOptions());
    try {
      if (res.status === 206) return 'more';
      if (res.status === 416) {
        const total = parseContentRange(res.headers['content-range'])?.total ?? null;
        if (total === null || total === size) return 'whole';
        return 'more'; // another size now: the resume that follows sorts it out (restart)
      }
    } finally {
      res.destroy();
    }
    throw new DownloadError(
      'TK_DL_UNPROVEN',
      `the server sent ${size} bytes without saying how many, over https, and did not confirm that nothing follows (it answered a Range request for the rest with ${res.status}, not 416): ` +
        `over TLS a cut connection cannot be told from the end, so the file is not saved; the bytes are in ${part.partPath}`,
    );
  }

  /** What every request of this download is sent with: the job's time-outs, trusted certificates and redirect limit, the abort signal. */
  private requestOptions(): Parameters<typeof getFollowingRedirects>[2] {
    const { job } = this;
    return {
      timeoutMs: job.timeoutMs,
      connectTimeoutMs: job.connectTimeoutMs,
      ...(job.ca && { ca: job.ca }),
      ...(this.signal && { signal: this.signal }),
      maxRedirects: job.maxRedirects,
      asked: job.url,
    };
  }

  /** A small body, all in memory: verify it, then write and rename it. */
  private async finishSmall(part: PartFile, body: Buffer): Promise<Partial<DownloadResult>> {
    const { job } = this;
    this.received += body.length;
    this.emit({ type: 'progress', id: job.id, bytes: body.length, total: body.length });
    const digest = job.sha256 || this.compareWithExisting ? (await loadCrypto()).createHash('sha256').update(body).digest('hex') : undefined;
    if (job.sha256 && digest !== job.sha256) {
      part.removeRecord();
      throw new DownloadError(
        'TK_DL_CHECKSUM',
        `checksum mismatch for ${part.name}: expected sha256 ${job.sha256}, got ${digest}; nothing was saved — check the checksum or the URL`,
      );
    }
    if (this.compareWithExisting) {
      part.removeRecord();
      if (digest !== (await sha256Of(part.finalPath))) throw existsError(part);
      return { name: part.name, status: 'skipped', path: part.finalPath, bytes: body.length, sha256: digest };
    }
    if (!part.writeWhole(body, job.force)) {
      return this.appeared(part, digest ?? (await loadCrypto()).createHash('sha256').update(body).digest('hex'), body.length, false);
    }
    if (this.partSeen) part.dropLeftover();
    return { name: part.name, status: 'done', path: part.finalPath, bytes: body.length, ...(digest && { sha256: digest }) };
  }

  /**
   * Streams the body into the `.part` file, from `start` on (truncating whatever follows).
   * When the connection drops or Ctrl-C stops us, every byte received is still flushed to the
   * file before this rejects, so that the next try resumes from all of them.
   */
  private async receive(part: PartFile, res: HttpResponse, start: number, total: number | null): Promise<void> {
    const { job, signal } = this;
    await part.prepare(start);
    let bytes = start;
    let last = 0;
    const progress = (n: number) => {
      bytes += n;
      this.received += n;
      const now = performance.now();
      if (now - last >= job.progressIntervalMs) {
        last = now;
        this.emit({ type: 'progress', id: job.id, bytes, total });
      }
    };
    try {
      await res.saveBody(part.partPath, start, progress, signal);
    } finally {
      this.emit({ type: 'progress', id: job.id, bytes, total });
    }
  }

  /** The `.part` is complete: verify it and rename it to the final name. */
  private async finish(part: PartFile, size: number): Promise<Partial<DownloadResult>> {
    const { job } = this;
    const base = { name: part.name };
    let digest: string | undefined;
    if (job.sha256 || this.compareWithExisting) digest = await sha256Of(part.partPath);
    if (job.sha256 && digest !== job.sha256) {
      await part.remove();
      throw new DownloadError(
        'TK_DL_CHECKSUM',
        `checksum mismatch for ${part.name}: expected sha256 ${job.sha256}, got ${digest}; the download was deleted — check the checksum or the URL`,
      );
    }
    if (this.compareWithExisting) {
      await part.remove();
      if (digest !== (await sha256Of(part.finalPath))) throw existsError(part);
      return { ...base, status: 'skipped', path: part.finalPath, bytes: size, sha256: digest };
    }
    if (!(await part.commit(job.force))) {
      return this.appeared(part, digest ?? (await sha256Of(part.partPath)), size, true);
    }
    return { ...base, status: 'done', path: part.finalPath, bytes: size, ...(digest && { sha256: digest }) };
  }

  /**
   * The final name was taken while this download ran (no --force): the same bytes there count
   * as this download done (skipped), other bytes fail it; what is there is never replaced. A
   * whole `.part` that differs is kept, for `-c --force` to put in place without a new download.
   */
  private async appeared(part: PartFile, digest: string, bytes: number, partKept: boolean): Promise<Partial<DownloadResult>> {
    if (digest !== (await sha256Of(part.finalPath))) throw appearedError(part, partKept);
    if (partKept) await part.remove();
    return { name: part.name, status: 'skipped', path: part.finalPath, bytes, sha256: digest };
  }

  /**
   * What is under the final name. A folder or other non-file fails, --force or not; a file,
   * without --force: skip when it is provably the same file, fail when it provably differs, else
   * download and compare at the end.
   */

  private async checkExisting(part: PartFile, total: number | null): Promise<Partial<DownloadResult> | undefined> {
    const size = part.existingSize();
    if (size < 0 || this.job.force) return undefined;
    if (this.job.sha256) {
      const digest = await sha256Of(part.finalPath);
      if (digest === this.job.sha256) {
        return { status: 'skipped', name: part.name, path: part.finalPath, bytes: size, sha256: digest };
      }
      throw new DownloadError(
        'TK_DL_EXISTS',
        `${part.finalPath} already exists and its sha256 is ${digest}, not the ${this.job.sha256} asked for; it was kept — pass --force to download again and replace it, or -o to download elsewhere`,
      );
    }
    if (total !== null && total !== size) throw existsError(part);
    this.compareWithExisting = true;
    return undefined;
  }
}

/** A 416's validators, when it has any, must match the record too. */
function changeIn416(part: PartFile, res: HttpResponse): string | undefined {
  if (res.headers.etag === undefined && res.headers['last-modified'] === undefined) return undefined;
  return changeFrom(part.record!, res.headers, null);
}

/** The final name was free when the download began and is not now: saved by another run or program meanwhile. */
function appearedError(part: PartFile, partKept: boolean): DownloadError {
  return new DownloadError(
    'TK_DL_EXISTS',
    `${part.finalPath} appeared while this download ran (written by another run or program) with different content; it was kept and this download was not saved` +
      (partKept
        ? ` under that name: it is whole in ${part.partPath} — run the same command with -c --force to replace the file with it, or -o to download elsewhere`
        : ' — pass --force to replace it, or -o to download elsewhere'),
  );
}

function existsError(part: PartFile): DownloadError {
  return new DownloadError(
    'TK_DL_EXISTS',
    `${part.finalPath} already exists with different content; it was kept — pass --force to replace it, or -o to download elsewhere`,
  );
}
