/**
 * Downloads one file: `GET` (following redirects) streamed into `NAME.part`, resumed with
 * `Range` after a dropped connection or (with `-c`) a previous run, retried with exponential
 * backoff on transient errors, verified (size, optional sha256) and only then renamed to `NAME`.
 *
 * Files on disk while a download is incomplete:
 * - `NAME.part`: the bytes received so far, always a prefix of the file: they are written
 *   strictly in order (part-writer.ts), so after any crash its size is the resume point.
 * - `NAME.part.meta`: JSON `{ url, etag, lastModified, total }` of the first response
 *   (part-record.ts), written before the first byte of `NAME.part`: `-c` in a later run finds
 *   the `.part` of a URL whose name came from `Content-Disposition`, sends `If-Range`, and holds
 *   every 206 to it — a different ETag, Last-Modified or size restarts from zero (a `restart`
 *   event says why), as does a `.part` without a whole record: bytes of two versions of a file
 *   are never spliced.
 *
 * A body of at most 256 KiB whose size is known is read into memory and written with one
 * synchronous open/write/close and a rename: no `.part.meta`, no thread-pool round trips.
 * - `NAME.part.lock`: `PID THREAD JOB RUN` of the download writing it, created exclusively, so
 *   that two URLs of one run (or two runs) never write the same file; a lock whose process is
 *   gone (killed) is taken over.
 * All three are removed once the file is complete (the lock also when the download stops). On
 * a checksum mismatch `.part` and `.part.meta` are removed too: resuming those bytes would only
 * give the same wrong file.
 *
 * Memory use is flat in the file size: the body streams from the socket to the file.
 */
import { createReadStream, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { DownloadError, asDownloadError, localFileError, toErrorInfo } from './errors.ts';
import { httpGet, type HttpResponse } from './http-get.ts';
import { httpError, parseContentRange } from './http-answers.ts';
import { changeFrom, ifRangeOf, readRecord, recordOf, untrusted, writeRecord, type PartRecord } from './part-record.ts';
import { chooseName, FALLBACK_NAME, nameFromUrl } from './names.ts';
import type { DownloadJob, DownloadResult, EmitEvent } from './protocol.ts';
import { isPidAlive } from '../../internal/pid.ts';

const USER_AGENT = 'threadkit-download/0.1';
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Large buffers cut the per-chunk overhead of fast (loopback) transfers. */
const HIGH_WATER_MARK = 1 << 20;
/** Bodies up to this size (with a Content-Length) are read into memory and written at once. */
const SMALL_BODY = 256 * 1024;

export interface DownloadOptions {
  emit: EmitEvent;
  /** Aborting stops the download at once and keeps its `.part` (Ctrl-C). */
  signal?: AbortSignal;
  /**
   * Names being written by the other downloads of this run, when they share this thread
   * (inline): tells two URLs that save to one name apart without a lock file per file.
   */
  names?: Map<string, number>;
}

/** Runs one job to its end. Never throws: failures come back as `status: 'failed'`. */
export async function downloadFile(job: DownloadJob, { emit, signal, names }: DownloadOptions): Promise<DownloadResult> {
  const started = performance.now();
  emit({ type: 'start', id: job.id, url: job.url, at: Date.now(), pid: process.pid, threadId });
  const d = new Download(job, emit, signal, names);
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
    Object.assign(result, await d.run());
  } catch (err) {
    d.release();
    const aborted = signal?.aborted === true;
    result.status = aborted ? 'interrupted' : 'failed';
    result.error = toErrorInfo(aborted ? new DownloadError('TK_DL_INTERRUPTED', 'interrupted; run again with -c to resume') : err);
    if (d.name) result.name = d.name;
    if (d.ownsPart) {
      const left = await sizeOf(d.partPath);
      if (left > 0) Object.assign(result, { path: d.partPath, bytes: left });
    }
  }
  d.release();
  result.attempts = d.attempts;
  result.received = d.received;
  result.resumedFrom = Math.max(0, d.resumedFrom);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

class Download {
  name: string | undefined;
  attempts = 0;
  received = 0;
  /** Whether the `.part` file is this download's (it took the lock for it). */
  ownsPart = false;
  resumedFrom = -1;
  /** What the first response said (or the `.part.meta` of an earlier run): later answers must agree. */
  private record: PartRecord | undefined;
  /** Whether a `.part.meta` is on disk (to remove at the end). */
  private recordOnDisk = false;
  /** Set when the final name exists without --force: compare the download with it at the end. */
  private compareWithExisting = false;
  private existingChecked = false;
  /** Whether the next try starts from the `.part` on disk (-c, or any retry). */
  private resumeFromDisk = false;
  private lockPath: string | undefined;

  private readonly job: DownloadJob;
  private readonly emit: EmitEvent;
  private readonly signal: AbortSignal | undefined;

  private readonly names: Map<string, number> | undefined;
  /** The name this download holds in `names`. */
  private namePath: string | undefined;

  constructor(job: DownloadJob, emit: EmitEvent, signal: AbortSignal | undefined, names: Map<string, number> | undefined) {
    this.job = job;
    this.names = names;
    this.emit = emit;
    this.signal = signal;
  }

  get finalPath(): string {
    return join(this.job.dir, this.name ?? FALLBACK_NAME);
  }
  get partPath(): string {
    return `${this.finalPath}.part`;
  }
  get metaPath(): string {
    return `${this.partPath}.meta`;
  }

  async run(): Promise<Partial<DownloadResult>> {
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
    this.name = (job.resume ? await this.findPartOf(job.url) : undefined) ?? nameFromUrl(url) ?? FALLBACK_NAME;
    this.resumeFromDisk = job.resume;
    let failures = 0;
    let agains = 0;
    for (;;) {
      this.attempts++;
      const receivedBefore = this.received;
      try {
        const outcome = await this.attempt(url, this.resumeFromDisk ? await this.resumePoint() : 0);
        if (outcome !== 'again') return outcome;
        // Re-asking with the right name or Range is not a failed try (but is bounded).
        this.attempts--;
        if (++agains > 5)
          throw new DownloadError('TK_DL_RANGE', `${job.url}: the server's answers to Range requests do not fit together; try again without -c`);
      } catch (err) {
        if (this.signal?.aborted) throw err;
        const e = asDownloadError(err, job.url);
        const after = await sizeOf(this.partPath);
        // Retries count failures in a row: a try that received bytes resets the count (within a bound).
        failures = this.received > receivedBefore ? 1 : failures + 1;
        if (!e.transient || failures > job.retries || this.attempts > 10 * (job.retries + 1)) throw e;
        const backoff = Math.min(job.retryMaxMs, job.retryBaseMs * 2 ** (failures - 1));
        const delayMs = Math.round(Math.max(backoff * (0.5 + Math.random() / 2), Math.min(e.retryAfterMs ?? 0, job.retryMaxMs)));
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
  private async resumePoint(): Promise<number> {
    const size = await sizeOf(this.partPath);
    if (size === 0) return 0;
    if (!this.record) {
      this.record = await readRecord(this.metaPath);
      this.recordOnDisk = this.record !== undefined;
    }
    const why =
      untrusted(this.record, this.job.url) ??
      (this.record!.total !== undefined && size > this.record!.total ? `the .part (${size} bytes) is larger than the file (${this.record!.total})` : undefined);
    if (why) {
      this.restart(`cannot resume the .part: ${why}`);
      return 0;
    }
    return size;
  }

  /** The next try starts from zero; one line says why. */
  private restart(reason: string): void {
    this.record = undefined;
    this.resumeFromDisk = false;
    this.emit({ type: 'restart', id: this.job.id, reason });
  }

  /** One request. Returns the result, 'again' to re-request at once, or throws. */
  private async attempt(url: URL, offset: number): Promise<Partial<DownloadResult> | 'again'> {
    const { job } = this;
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      const validator = ifRangeOf(this.record!);
      if (validator) headers['if-range'] = validator;
    }
    const { res, finalUrl } = await this.get(url, headers);
    try {
      const status = res.status;
      if (status === 416 && offset > 0) {
        // Our Range starts at or past the end: the .part may already be the whole file.
        if (!this.lockPath) this.claim();
        const total = parseContentRange(res.headers['content-range'])?.total ?? null;
        const change = total !== offset ? `the server has ${total ?? 'an unknown number of'} bytes, the .part ${offset}` : this.changeIn416(res);
        if (change) {
          this.restart(`the file changed on the server: ${change}`);
          return 'again';
        }
        this.existingChecked = true;
        return (await this.checkExisting(offset)) ?? this.finish(offset);
      }
      if (status < 200 || status >= 300) throw httpError(status, res, job.url);

      const name = chooseName(url, finalUrl, res.headers['content-disposition']);
      if (name !== this.name) {
        // The server named the file: re-ask with a Range for that name's .part, if resuming.
        this.release();
        this.name = name;
        this.record = undefined;
        this.recordOnDisk = false;
        if (offset > 0 || (this.resumeFromDisk && (await sizeOf(this.partPath)) > 0)) return 'again';
      }

      this.claimName();
      let start = 0;
      let total: number | null = null;
      const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : null;
      if (status === 206) {
        const range = parseContentRange(res.headers['content-range']);
        if (offset === 0 || !range || range.start !== offset) {
          this.restart(`the server answered bytes ${range ? `${range.start}-${range.end}` : '(no Content-Range)'} to a request for bytes ${offset}-`);
          return 'again';
        }
        const change = changeFrom(this.record!, res.headers, range.total);
        if (change) {
          this.restart(`the file changed on the server: ${change}`);
          return 'again';
        }
        start = offset;
        total = range.total;
      } else {
        // 200: a fresh download, or a server that ignores Range (or whose If-Range failed).
        if (offset > 0) this.restart('the server sent the whole file again (it ignores Range, or If-Range found the file changed)');
        total = length;
      }
      if (this.resumedFrom < 0) this.resumedFrom = start;

      if (!this.existingChecked) {
        this.existingChecked = true;
        const skipped = await this.checkExisting(total);
        if (skipped) return skipped;
      }

      this.emit({ type: 'response', id: job.id, name, status, offset: start, total });
      if (start === 0) {
        this.record = recordOf(job.url, res.headers, total);
        if (total !== null && total <= SMALL_BODY) {
          const body = await res.readSmall(SMALL_BODY);
          if (body) return this.finishSmall(body);
        }
        if (!this.lockPath) this.claim();
        await writeRecord(this.metaPath, this.record);
        this.recordOnDisk = true;
      }
      if (!this.lockPath) this.claim();
      await this.receive(res, start, total);
      const size = await sizeOf(this.partPath);
      if (total !== null && size !== total) {
        throw new DownloadError('TK_DL_NETWORK', `connection closed after ${size} of ${total} bytes`, { transient: true });
      }
      return this.finish(size);
    } finally {
      res.destroy();
    }
  }

  /** A 416's validators, when it has any, must match the record too. */
  private changeIn416(res: HttpResponse): string | undefined {
    if (res.headers.etag === undefined && res.headers['last-modified'] === undefined) return undefined;
    return changeFrom(this.record!, res.headers, null);
  }

  /** A small body, all in memory: verify it, then write and rename it with synchronous calls. */
  private async finishSmall(body: Buffer): Promise<Partial<DownloadResult>> {
    const { job } = this;
    this.received += body.length;
    this.emit({ type: 'progress', id: job.id, bytes: body.length, total: body.length });
    const digest = job.sha256 || this.compareWithExisting ? createHash('sha256').update(body).digest('hex') : undefined;
    if (job.sha256 && digest !== job.sha256) {
      this.removeRecord();
      throw new DownloadError(
        'TK_DL_CHECKSUM',
        `checksum mismatch for ${this.name}: expected sha256 ${job.sha256}, got ${digest}; nothing was saved — check the checksum or the URL`,
      );
    }
    if (this.compareWithExisting) {
      this.removeRecord();
      if (digest !== (await sha256Of(this.finalPath))) throw this.existsError();
      return { name: this.name, status: 'skipped', path: this.finalPath, bytes: body.length, sha256: digest };
    }
    // A name of its own: no lock needed, and the rename puts a whole file in place or nothing.
    const temp = `${this.partPath}.${job.run}-${job.id}`;
    try {
      await writeFile(temp, body, { flag: 'wx' });
    } catch (err) {
      rmSync(temp, { force: true });
      throw localFileError(err, temp, 'write');
    }
    try {
      await rename(temp, this.finalPath);
    } catch (err) {
      rmSync(temp, { force: true });
      throw localFileError(err, this.finalPath, 'rename');
    }
    this.removeRecord();
    return { name: this.name, status: 'done', path: this.finalPath, bytes: body.length, ...(digest && { sha256: digest }) };
  }

  private removeRecord(): void {
    if (this.recordOnDisk) rmSync(this.metaPath, { force: true });
    this.recordOnDisk = false;
  }

  /**
   * Streams the body into the `.part` file, from `start` on (truncating whatever follows).
   * When the connection drops or Ctrl-C stops us, every byte received is still flushed to the
   * file before this rejects, so that the next try resumes from all of them.
   */
  private async receive(res: HttpResponse, start: number, total: number | null): Promise<void> {
    const { job, signal } = this;
    try {
      if (start === 0) await writeFile(this.partPath, '');
      // Anything past the resume point goes before the first new byte is written.
      else if ((await sizeOf(this.partPath)) !== start) await truncate(this.partPath, start);
    } catch (err) {
      throw localFileError(err, this.partPath, 'create');
    }
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
      await res.saveBody(this.partPath, start, progress, signal);
    } finally {
      this.emit({ type: 'progress', id: job.id, bytes, total });
    }
  }

  /** The `.part` is complete: verify it and rename it to the final name. */
  private async finish(size: number): Promise<Partial<DownloadResult>> {
    const { job } = this;
    const base = { name: this.name };
    let digest: string | undefined;
    if (job.sha256 || this.compareWithExisting) digest = await sha256Of(this.partPath);
    if (job.sha256 && digest !== job.sha256) {
      await this.removePart();
      throw new DownloadError(
        'TK_DL_CHECKSUM',
        `checksum mismatch for ${this.name}: expected sha256 ${job.sha256}, got ${digest}; the download was deleted — check the checksum or the URL`,
      );
    }
    if (this.compareWithExisting) {
      await this.removePart();
      if (digest !== (await sha256Of(this.finalPath))) throw this.existsError();
      return { ...base, status: 'skipped', path: this.finalPath, bytes: size, sha256: digest };
    }
    try {
      await rename(this.partPath, this.finalPath);
    } catch (err) {
      throw localFileError(err, this.finalPath, 'rename');
    }
    await rm(this.metaPath, { force: true });
    this.recordOnDisk = false;
    return { ...base, status: 'done', path: this.finalPath, bytes: size, ...(digest && { sha256: digest }) };
  }

  /**
   * The final name exists and --force is not given: skip when it is provably the same file,
   * fail when it provably differs, else download and compare at the end.
   */
  private async checkExisting(total: number | null): Promise<Partial<DownloadResult> | undefined> {
    if (this.job.force) return undefined;
    // Off this thread: a stat in a folder where many files are being created waits on the folder's lock.
    const size = await sizeOf(this.finalPath, -1);
    if (size < 0) return undefined;
    if (this.job.sha256) {
      const digest = await sha256Of(this.finalPath);
      if (digest === this.job.sha256) {
        return { status: 'skipped', name: this.name, path: this.finalPath, bytes: size, sha256: digest };
      }
      throw this.existsError();
    }
    if (total !== null && total !== size) throw this.existsError();
    this.compareWithExisting = true;
    return undefined;
  }

  /** Takes `NAME.part.lock`, or fails when a live download holds it (synchronous: three system calls). */
  private claim(): void {
    const lock = `${this.partPath}.lock`;
    const token = `${process.pid} ${threadId} ${this.job.id} ${this.job.run}`;
    for (;;) {
      try {
        writeFileSync(lock, token, { flag: 'wx' });
        this.lockPath = lock;
        this.ownsPart = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw localFileError(err, lock, 'create');
      }
      let text = '';
      try {
        text = readFileSync(lock, 'utf8');
      } catch {
        // Gone meanwhile: try again.
      }
      const [pid, , job, run] = text.split(' ');
      const owner = Number(pid);
      if (run === this.job.run && isPidAlive(owner)) {
        throw new DownloadError(
          'TK_DL_NAME_TAKEN',
          `${this.job.url} and URL #${Number(job) + 1} of this run both save to ${this.name}; download them into different -o directories`,
        );
      }
      if (run !== this.job.run && owner !== process.pid && isPidAlive(owner)) {
        throw new DownloadError(
          'TK_DL_NAME_TAKEN',
          `${this.finalPath} is being downloaded by another process (pid ${owner}); wait for it to finish, or use another -o directory`,
        );
      }
      // Left by a download that was killed: take it over.
      rmSync(lock, { force: true });
    }
  }

  /**
   * Takes the name for this download: in `names` when downloads share this thread (a lock file
   * is taken later, only if a `.part` is written), else the lock file at once.
   */
  private claimName(): void {
    if (!this.names) {
      if (!this.lockPath) this.claim();
      return;
    }
    const path = this.partPath;
    if (this.namePath === path) return;
    const other = this.names.get(path);
    if (other !== undefined && other !== this.job.id) {
      throw new DownloadError(
        'TK_DL_NAME_TAKEN',
        `${this.job.url} and URL #${other + 1} of this run both save to ${this.name}; download them into different -o directories`,
      );
    }
    this.names.set(path, this.job.id);
    this.namePath = path;
  }

  /** Drops the name and the lock, if held. */
  release(): void {
    if (this.namePath !== undefined) {
      this.names?.delete(this.namePath);
      this.namePath = undefined;
    }
    if (!this.lockPath) return;
    const lock = this.lockPath;
    this.lockPath = undefined;
    rmSync(lock, { force: true });
  }

  private existsError(): DownloadError {
    return new DownloadError(
      'TK_DL_EXISTS',
      `${this.finalPath} already exists with different content; it was kept — pass --force to replace it, or -o to download elsewhere`,
    );
  }

  private async removePart(): Promise<void> {
    await rm(this.partPath, { force: true });
    await rm(this.metaPath, { force: true });
    this.recordOnDisk = false;
  }

  /** `-c` with a name from Content-Disposition: find the `.part` whose meta names this URL. */
  private async findPartOf(url: string): Promise<string | undefined> {
    let entries: string[];
    try {
      entries = await readdir(this.job.dir);
    } catch {
      return undefined;
    }
    for (const entry of entries) {
      if (!entry.endsWith('.part.meta')) continue;
      const meta = await readRecord(join(this.job.dir, entry));
      if (meta?.url === url) return entry.slice(0, -'.part.meta'.length);
    }
    return undefined;
  }

  /** GET with redirects; resolves once the headers of the final response are in. */
  private async get(url: URL, headers: Record<string, string>): Promise<{ res: HttpResponse; finalUrl: URL }> {
    for (let hops = 0; ; hops++) {
      const res = await httpGet(url, headers, {
        timeoutMs: this.job.timeoutMs,
        connectTimeoutMs: this.job.connectTimeoutMs,
        ...(this.job.ca && { ca: this.job.ca }),
        ...(this.signal && { signal: this.signal }),
      });
      const location = res.headers.location;
      if (!REDIRECTS.has(res.status)) return { res, finalUrl: url };
      res.destroy();
      if (!location) throw new DownloadError('TK_DL_REDIRECT', `${url} redirected (${res.status}) without a Location header`);
      if (hops >= this.job.maxRedirects) {
        throw new DownloadError('TK_DL_REDIRECT', `${this.job.url} redirected more than ${this.job.maxRedirects} times; check the URL (a redirect loop?)`);
      }
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new DownloadError('TK_DL_REDIRECT', `${url} redirected to ${next.protocol} which is not supported`);
      }
      url = next;
    }
  }
}

async function sizeOf(path: string, missing = 0): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return missing;
  }
}

export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: HIGH_WATER_MARK }), hash);
  return hash.digest('hex');
}

// Kept importable from here: the tests and older callers use these names from this module.
export { parseContentRange, parseRetryAfter } from './http-answers.ts';
