/**
 * One HTTP/1.1 GET, `http:` and `https:` alike, on a keep-alive `Connection` from the pool
 * (connection.ts), with the body written into a file by a `PartWriter` (in order) or, when
 * small, read into memory.
 *
 * Why not undici (Node's own HTTP engine): measured in bench/suites/download.ts, `undici.stream`
 * into a 1 MiB `fs.WriteStream` took about twice the wall time of this client for 8 × 64 MiB
 * from nginx (1.41 s against 0.71 s, on a loaded 2-core machine); its cost is a fresh buffer
 * and a stream hop per 64 KiB chunk, where this client reads into one reused 256 KiB buffer per
 * connection that it writes out whole (connection.ts). The parsing kept here is small: a status line, headers, Content-Length or chunked.
 *
 * Contract: `httpGet` resolves once the response head is in, with the connection paused. The
 * caller looks at status and headers, then calls exactly one of `destroy()`, `readSmall()` or
 * `saveBody()`. `saveBody` resolves when the whole body is on disk, or rejects — after every
 * byte received so far has been written — when the connection drops, times out, the signal
 * aborts or the disk refuses (a local error). A connection whose response was read to its end
 * goes back to the pool.
 */
import { close, constants, ftruncate, open } from 'node:fs';
import { promisify } from 'node:util';
import { basicAuth, Connection, sharedPool, type ConnectionPool, type ConnectionSink } from './connection.ts';
import { DownloadError, localFileError } from './errors.ts';
import { headLength, mayStartHttp, parseStatusLine, quoteBytes, type StatusLine } from './http-answers.ts';
import { PartWriter } from './part-writer.ts';
import { proxyFor } from './proxy.ts';

export interface HttpResponse {
  readonly status: number;
  readonly statusMessage: string;
  /** Lower-case names; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /**
   * The body in memory when its Content-Length is at most `limit`; else undefined, nothing read.
   * When it came whole with the head, it is a view of the connection's read buffer, which the
   * connection's next response reads into: use it (or copy it) before awaiting any I/O.
   */
  readSmall(limit: number): Promise<Buffer | undefined>;
  /**
   * Writes the body into the existing file `path` from byte `position` on, in order. `onBytes`
   * gets the count of each piece received.
   */
  saveBody(path: string, position: number, onBytes: (n: number) => void, signal?: AbortSignal): Promise<void>;
  /**
   * The body has no length of its own (no Content-Length, not chunked): it ends where the
   * server closes the connection, so its end proves nothing over TLS, where Node cannot tell a
   * close_notify from a cut connection.
   */
  readonly endsAtClose: boolean;
  /** Drops the connection (the body is not wanted). */
  destroy(): void;
}

export interface GetOptions {
  /** Fails the request when the connection is idle this long. */
  timeoutMs: number;
  /** Fails the request when connecting (and TLS, and a proxy's CONNECT) takes longer. */
  connectTimeoutMs?: number;
  /** Extra trusted certificates (PEM) for https:. */
  ca?: string;
  signal?: AbortSignal;
  /** Where idle connections wait for the next request (default: one per thread). */
  pool?: ConnectionPool;
}

/** Body bytes waiting for the disk beyond which the socket pauses. */
const MAX_BACKLOG = 4 << 20;
const MAX_HEAD = 64 * 1024;
/**
 * Informational (1xx) answers read past before the answer: a server that never stops sending
 * them (a `102 Processing` every few seconds) would hold the download for ever, since each one
 * is a byte within --timeout.
 */
const MAX_INFORMATIONAL = 32;
const openFile = promisify(open);
const closeFile = promisify(close);
const truncateFile = promisify(ftruncate);

async function cutFile(fd: number, length: number, path: string): Promise<void> {
  try {
    await truncateFile(fd, length);
  } catch (err) {
    throw localFileError(err, path, 'write');
  }
}

export async function httpGet(url: URL, headers: Record<string, string>, options: GetOptions): Promise<HttpResponse> {
  const proxy = proxyFor(url);
  const pool = options.pool ?? sharedPool;
  const key = `${url.protocol}//${url.host}|${proxy?.href ?? ''}|${options.ca ? 'ca' : ''}`;
  const lines = [`GET ${proxy && url.protocol === 'http:' ? absoluteForm(url) : `${url.pathname}${url.search}`} HTTP/1.1`, `host: ${url.host}`];
  const proxyAuth = proxy && url.protocol === 'http:' ? basicAuth(proxy) : undefined;
  if (proxyAuth) lines.push(`proxy-authorization: ${proxyAuth}`);
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const head = `${lines.join('\r\n')}\r\n\r\n`;
  const settings = { connectTimeoutMs: options.connectTimeoutMs ?? 30_000, ...(options.ca && { ca: options.ca }), ...(proxy && { proxy }) };
  for (;;) {
    options.signal?.throwIfAborted();
    const idle = pool.take(key);
    const conn = idle ?? (await Connection.open(url, key, settings));
    try {
      // Who answers on this connection: an http: URL through a proxy is asked of the proxy.
      const peer = proxy && url.protocol === 'http:' ? `the proxy ${proxy.host}` : url.host;
      return await new RawResponse(url, conn, pool, options, peer).send(head);
    } catch (err) {
      // A kept-alive connection the server closed meanwhile: not a failed try, take a fresh one.
      if (idle && err instanceof StaleConnection) continue;
      throw err instanceof StaleConnection ? err.cause : err;
    }
  }
}

/** An error of the socket itself (ECONNRESET, ETIMEDOUT…), not one of ours or an abort's reason. */
function isSocketError(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return !(err instanceof DownloadError) && typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/** The request target for a proxy: the whole URL, less the fragment and any user name and password (RFC 9112, 3.2.2). */
function absoluteForm(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search}`;
}

function headTimeoutError(peer: string, ms: number): DownloadError {
  return new DownloadError('TK_DL_TIMEOUT', `${peer} did not send the whole head of its answer within ${ms / 1000} s (--timeout)`, { transient: true });
}

class StaleConnection extends Error {}

function timeoutError(peer: string, ms: number): DownloadError {
  return new DownloadError('TK_DL_TIMEOUT', `no data from ${peer} for ${ms / 1000} s (--timeout)`, { transient: true });
}

type Framing = { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' };
type Piece = { buf: Buffer; start: number; end: number };

class RawResponse implements HttpResponse, ConnectionSink {
  status = 0;
  statusMessage = '';
  headers: Record<string, string | undefined> = {};

  private readonly url: URL;
  private readonly conn: Connection;
  private readonly pool: ConnectionPool;
  private readonly options: GetOptions;
  private phase: 'head' | 'held' | 'body' | 'done' = 'head';
  private head: Buffer = Buffer.alloc(0);
  private gotBytes = false;
  /** Informational (1xx) answers read past so far. */
  private informational = 0;
  /** The answer's status line, once its first line came (read before the head is whole). */
  private statusLine: StatusLine | undefined;
  /** What came cannot be read as an HTTP/1.x answer: on a reused connection, taken for a stale one. */
  private unreadable = false;
  /** Body bytes that came with the head, kept until the body is read. */
  private early: Piece[] = [];
  private framing: Framing = { kind: 'close' };
  private keepAlive = true;
  private chunk = new ChunkedDecoder();
  private received = 0;
  private complete = false;
  private closed = false;
  private failure: unknown;
  /** Set when the body broke its framing: how many of the body bytes received are the server's. */
  private trusted: number | undefined;
  private onBody: (buf: Buffer, start: number, end: number) => void = () => {};
  private onFlush: () => void = () => {};
  private onFinished: () => void = () => {};
  private resolveHead!: (r: HttpResponse) => void;
  private rejectHead!: (e: unknown) => void;

  /** Who answers (the server's host, or "the proxy HOST"), for messages. */
  private readonly peer: string;

  get endsAtClose(): boolean {
    return this.framing.kind === 'close';
  }

  constructor(url: URL, conn: Connection, pool: ConnectionPool, options: GetOptions, peer: string) {
    this.url = url;
    this.peer = peer;
    this.conn = conn;
    this.pool = pool;
    this.options = options;
  }

  send(head: string): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const { signal, timeoutMs } = this.options;
      // Bytes that trickle in keep the idle time-out from firing: the head as a whole must come
      // within --timeout too, or a server sending a byte a second would hold the try for good.
      const headTimer = setTimeout(() => this.conn.destroy(headTimeoutError(this.peer, timeoutMs)), timeoutMs).unref();
      this.resolveHead = (r) => {
        clearTimeout(headTimer);
        resolve(r);
      };
      this.rejectHead = (e) => {
        clearTimeout(headTimer);
        reject(e);
      };
      if (signal) {
        const onAbort = () => this.conn.destroy(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        const unlisten = () => signal.removeEventListener('abort', onAbort);
        const previous = this.onFinished;
        this.onFinished = () => {
          unlisten();
          previous();
        };
      }
      this.conn.request(head, this);
      this.conn.setTimeout(timeoutMs, () => this.conn.destroy(timeoutError(this.peer, timeoutMs)));
    });
  }

  destroy(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.conn.destroy();
    this.onFinished();
  }

  // ConnectionSink

  data(buf: Buffer, start: number, end: number): void {
    this.gotBytes = true;
    if (this.phase === 'head') return this.onHeadBytes(buf, start, end);
    if (this.phase === 'held') {
      // Kept past flush(): a copy (the connection reads into `buf` again).
      this.early.push({ buf: Buffer.from(buf.subarray(start, end)), start: 0, end: end - start });
      return;
    }
    if (this.phase === 'body') this.consume(buf, start, end);
  }

  flush(): void {
    if (this.phase === 'body') this.onFlush();
  }

  end(): void {
    if (this.framing.kind === 'close' && this.phase !== 'head') this.complete = true;
  }

  close(error: unknown): void {
    this.closed = true;
    this.failure ??= error;
    if (this.phase === 'head') {
      this.phase = 'done';
      this.onFinished();
      // A reset (ECONNRESET, EPIPE) before any answer names who reset it, as a close does; a
      // head cut short shows what came of it.
      const how = this.failure ? ` (${(this.failure as NodeJS.ErrnoException).code ?? String(this.failure)})` : '';
      const err =
        this.failure instanceof DownloadError
          ? this.failure
          : new DownloadError(
              'TK_DL_NETWORK',
              this.head.length
                ? `${this.peer} closed the connection before the head of its answer was complete${how} (it sent ${quoteBytes(this.head)})`
                : `${this.peer} closed the connection before answering${how}`,
              { transient: true, cause: this.failure },
            );
      // A kept-alive connection that the server closed meanwhile (no byte came), or that holds
      // something other than an answer (left from before): the request is sent again on a fresh one.
      const stale = this.conn.uses > 1 && (!this.gotBytes || this.unreadable);
      this.rejectHead(stale ? Object.assign(new StaleConnection('stale'), { cause: err }) : err);
      return;
    }
    // A body that runs until the connection closes is whole only when it closed cleanly: a reset,
    // the idle time-out or Ctrl-C (all of which come with an error) cut it short.
    if (this.framing.kind === 'close' && this.failure === undefined) this.complete = true;
    if (!this.complete && isSocketError(this.failure)) this.failure = this.brokeOff(this.failure);
    this.finished();
  }

  /** A body cut short by the connection's end: says by whom, and after how much of it. */
  private brokeOff(error?: NodeJS.ErrnoException): DownloadError {
    const of = this.framing.kind === 'length' ? ` of ${this.received + this.framing.left}` : '';
    const after = `after ${this.received}${of} bytes of the body`;
    if (!error) return new DownloadError('TK_DL_NETWORK', `${this.peer} closed the connection ${after}`, { transient: true });
    const what = error.code === 'ECONNRESET' ? 'was reset' : 'broke off';
    return new DownloadError('TK_DL_NETWORK', `the connection to ${this.peer} ${what} ${after} (${error.code})`, { transient: true, cause: error });
  }

  // Reading the body

  readSmall(limit: number): Promise<Buffer | undefined> {
    if (this.phase !== 'held') return Promise.reject(new Error('readSmall() after the body was taken'));
    if (this.framing.kind !== 'length' || this.framing.left > limit) return Promise.resolve(undefined);
    const size = this.framing.left;
    const first = this.early[0];
    // The whole body came with the head (usual for a small file): those bytes are the body.
    const whole = first && first.end - first.start >= size ? first.buf.subarray(first.start, first.start + size) : undefined;
    const body = whole ?? Buffer.allocUnsafe(size);
    let at = 0;
    return this.read(
      (buf, start, end) => {
        if (!whole) at += buf.copy(body, at, start, end);
      },
      () => {},
      () => (this.complete ? Promise.resolve(body) : Promise.reject(this.failure ?? this.brokeOff())),
    );
  }

  async saveBody(path: string, position: number, onBytes: (n: number) => void, signal?: AbortSignal): Promise<void> {
    if (this.phase !== 'held') throw new Error('saveBody() called twice or after destroy()');
    let fd: number;
    try {
      // Never through a symbolic link planted at the path (part-file.ts makes it a file of its own).
      fd = await openFile(path, constants.O_RDWR | constants.O_NOFOLLOW);
    } catch (err) {
      this.destroy();
      throw localFileError(err, path, 'write');
    }
    const writer = new PartWriter(fd, path, position);
    let paused = false;
    writer.onDrain = () => {
      if (writer.error) this.conn.destroy();
      else if (paused && writer.backlog < MAX_BACKLOG) {
        paused = false;
        this.conn.resume();
      }
    };
    const onAbort = () => this.conn.destroy(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    try {
      await this.read(
        (buf, start, end) => {
          writer.add(buf, start, end);
          onBytes(end - start);
        },
        () => {
          writer.flush();
          if (writer.error) this.conn.destroy();
          else if (writer.backlog >= MAX_BACKLOG && !paused) {
            paused = true;
            this.conn.pause();
          }
        },
        async () => {
          // Whatever arrived is written before we report how it ended.
          await writer.idle();
          if (writer.error) throw writer.error;
          if (this.trusted !== undefined) await cutFile(fd, position + this.trusted, path);
          if (!this.complete) throw this.failure ?? this.brokeOff();
        },
      );
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await closeFile(fd).catch(() => {});
    }
  }

  /** Runs the body through `onBody`, then settles with `settle()` once it ended (or broke off). */
  private read<T>(onBody: (buf: Buffer, start: number, end: number) => void, onFlush: () => void, settle: () => Promise<T>): Promise<T> {
    this.onBody = onBody;
    this.onFlush = onFlush;
    this.phase = 'body';
    return new Promise<T>((resolve, reject) => {
      const previous = this.onFinished;
      this.onFinished = () => {
        previous();
        settle().then(resolve, reject);
      };
      const early = this.early;
      this.early = [];
      for (const p of early) this.consume(p.buf, p.start, p.end);
      // They may lie in the connection's buffer, which the next read can start over: written
      // (or copied) before it resumes, as after any fill.
      if (early.length && this.phase === 'body') this.onFlush();
      if (this.complete || this.closed) this.finished();
      else {
        this.conn.setTimeout(this.options.timeoutMs, () => this.conn.destroy(timeoutError(this.peer, this.options.timeoutMs)));
        this.conn.resume();
      }
    });
  }

  private consume(buf: Buffer, start: number, end: number): void {
    const f = this.framing;
    const emit = (from: number, to: number) => {
      if (to <= from) return;
      this.received += to - from;
      this.onBody(buf, from, to);
    };
    if (f.kind === 'length') {
      const take = Math.min(f.left, end - start);
      emit(start, start + take);
      f.left -= take;
      if (f.left === 0) {
        this.complete = true;
        // Bytes past the body on a connection we did not pipeline: do not trust it again.
        if (take < end - start) this.keepAlive = false;
      }
    } else if (f.kind === 'chunked') {
      try {
        const stop = this.chunk.decode(buf, start, end, emit);
        // Bytes past the last chunk and its trailers: as past a Content-Length.
        if (stop < end) this.keepAlive = false;
      } catch (err) {
        this.failure ??= err;
        this.trusted = this.chunk.verified;
        this.keepAlive = false;
        this.conn.destroy();
      }
      if (this.chunk.done) this.complete = true;
    } else {
      emit(start, end);
    }
    if (this.complete && f.kind !== 'close') this.finished();
  }

  /** The body is complete or the connection closed: hand the connection back, then settle. */
  private finished(): void {
    if (this.phase !== 'body') return;
    this.phase = 'done';
    this.onFlush();
    if (this.complete && !this.closed && this.keepAlive && this.framing.kind !== 'close') this.conn.detach(this.pool);
    else this.conn.destroy();
    this.onFinished();
  }

  /**
   * Reads the answer's status line once its first line came; fails the answer as soon as what
   * came cannot start one (an SSH banner fails at once, not after --timeout). Returns whether
   * the head may be read on.
   */
  private readStatusLine(): boolean {
    if (this.statusLine) return true;
    const head = this.head;
    const lf = head.indexOf(0x0a);
    if (!mayStartHttp(head)) {
      this.refuse(
        new DownloadError('TK_DL_NETWORK', `${this.peer} did not answer with HTTP/1.x (it sent ${quoteBytes(lf < 0 ? head : head.subarray(0, lf + 1))})`),
      );
      return false;
    }
    if (lf < 0) return true;
    const line = head.subarray(0, head[lf - 1] === 0x0d ? lf - 1 : lf);
    this.statusLine = parseStatusLine(line.toString('latin1'));
    if (this.statusLine) return true;
    const why = /^HTTP\/1\.[01] /.test(line.toString('latin1')) ? 'its status is not a 3-digit code' : 'this client reads HTTP/1.0 and HTTP/1.1 only';
    this.refuse(
      new DownloadError(
        'TK_DL_PROTOCOL',
        `${this.peer} answered with a status line this client cannot read (${quoteBytes(line)}): ${why}; the server is at fault`,
      ),
    );
    return false;
  }

  /**
   * What came cannot be read as an HTTP/1.x answer: fails it with `err`, or, on a reused
   * connection, takes the connection for a stale one (`close()`): the bytes may be left from
   * before, and a fresh connection is asked.
   */
  private refuse(err: DownloadError): void {
    this.unreadable = true;
    this.conn.destroy(err);
  }

  private onHeadBytes(buf: Buffer, start: number, end: number): void {
    const searched = this.head.length;
    this.head = searched ? Buffer.concat([this.head, buf.subarray(start, end)]) : buf.subarray(start, end);
    // An LF before the last two bytes already searched was followed by no empty line.
    let from = Math.max(0, searched - 2);
    for (;;) {
      if (!this.readStatusLine()) return;
      const headEnd = headLength(this.head, from);
      if (headEnd < 0) {
        // Copy, so that a head split over reads does not pin the connection's buffer.
        this.head = Buffer.from(this.head);
        if (this.head.length > MAX_HEAD) {
          this.refuse(new DownloadError('TK_DL_NETWORK', `the response head from ${this.peer} is over ${MAX_HEAD} bytes; is it an HTTP server?`));
        }
        return;
      }
      const lines = this.head.subarray(0, headEnd).toString('latin1').split(/\r?\n/);
      const rest = this.head.subarray(headEnd);
      const { minor, status, reason } = this.statusLine!;
      if (status === 101) {
        // Switching to another protocol that was never asked for (no Upgrade was sent).
        this.conn.destroy(
          new DownloadError(
            'TK_DL_PROTOCOL',
            `${this.url.host} answered 101 Switching Protocols to a plain GET, which asked for no upgrade; the server is at fault`,
          ),
        );
        return;
      }
      if (status >= 100 && status < 200) {
        // An informational answer (100 Continue, 103 Early Hints): the real one follows.
        if (++this.informational > MAX_INFORMATIONAL) {
          this.conn.destroy(
            new DownloadError(
              'TK_DL_PROTOCOL',
              `${this.peer} sent more than ${MAX_INFORMATIONAL} informational (1xx) answers before its answer (the last: ${quoteBytes(Buffer.from(lines[0]!, 'latin1'))}); the server is at fault`,
            ),
          );
          return;
        }
        this.head = rest;
        this.statusLine = undefined;
        from = 0;
        continue;
      }
      this.status = status;
      this.statusMessage = reason;
      let last: string | undefined;
      for (const line of lines.slice(1)) {
        if (line[0] === ' ' || line[0] === '\t') {
          // obs-fold: more of the previous field's value, read as one space (RFC 9112 §5.2).
          if (last !== undefined) this.headers[last] = `${this.headers[last]} ${line.trim()}`;
          continue;
        }
        last = undefined;
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const raw = line.slice(0, colon);
        const name = raw.trim().toLowerCase();
        if (raw !== raw.trimEnd() || /\s/.test(name)) {
          // `Content-Length : 5`: no whitespace may precede the colon (RFC 9112 §5.1), and which
          // field was meant cannot be trusted. Ignored, unless it would frame the body.
          if (name === 'content-length' || name === 'transfer-encoding') {
            this.conn.destroy(
              new DownloadError(
                'TK_DL_PROTOCOL',
                `${this.url.host} sent a malformed header line (${quoteBytes(Buffer.from(line, 'latin1'))}: whitespace before the colon), so the end of the file cannot be told; the server is at fault`,
              ),
            );
            return;
          }
          continue;
        }
        const value = line.slice(colon + 1).trim();
        this.headers[name] = this.headers[name] === undefined ? value : `${this.headers[name]}, ${value}`;
        last = name;
      }
      const codings = (this.headers['transfer-encoding'] ?? '')
        .split(',')
        .map((c) => c.trim().toLowerCase())
        .filter(Boolean);
      if (codings.some((c) => c !== 'chunked') || codings.length > 1) {
        // gzip or the like under the chunks: saving the bytes as they came would not be the file.
        this.conn.destroy(
          new DownloadError(
            'TK_DL_PROTOCOL',
            `${this.url.host} sent the body with Transfer-Encoding: ${this.headers['transfer-encoding']}, which this client does not decode (it asks for none); the server is at fault`,
          ),
        );
        return;
      }
      const chunked = codings.length === 1;
      // Chunked framing wins over a Content-Length sent with it (RFC 9112 §6.3), and such a
      // connection is not used again.
      if (chunked && this.headers['content-length'] !== undefined) {
        this.keepAlive = false;
        delete this.headers['content-length'];
      }
      const length = chunked ? undefined : contentLength(this.headers['content-length']);
      if (length === null) {
        this.conn.destroy(
          new DownloadError(
            'TK_DL_PROTOCOL',
            `${this.url.host} sent an invalid Content-Length (${this.headers['content-length']}), so the end of the file cannot be told; the server is at fault`,
          ),
        );
        return;
      }
      if (length !== undefined) this.headers['content-length'] = String(length);
      if (status === 204 || status === 304) this.framing = { kind: 'length', left: 0 };
      else if (chunked) this.framing = { kind: 'chunked' };
      else if (length !== undefined) this.framing = { kind: 'length', left: length };
      if (minor === '0' || /\bclose\b/i.test(this.headers.connection ?? '')) this.keepAlive = false;
      if (this.framing.kind === 'length' && this.framing.left === 0) this.complete = true;
      this.head = Buffer.alloc(0);
      // Body bytes that came with the head wait for the caller where they are: the connection
      // is paused from here on, so it reads nothing into `buf` until `read()` resumes it (after
      // handing these on). Copying them cost more than writing them (a fresh buffer per file
      // of 4-16 KiB: allocation, page faults, GC of external memory).
      if (rest.length) this.early.push({ buf: rest, start: 0, end: rest.length });
      this.phase = 'held';
      // Paused while the caller decides; the idle time-out restarts when the body is read.
      this.conn.pause();
      this.conn.setTimeout(0);
      this.resolveHead(this);
      return;
    }
  }
}

/**
 * A chunked body that breaks its own framing: the server's fault, and not retried (it would
 * answer the same way). The bytes of the chunk it broke in, and any after, cannot be trusted:
 * `saveBody` cuts the file back to the end of the last whole chunk.
 */
function malformed(what: string): DownloadError {
  return new DownloadError('TK_DL_PROTOCOL', `malformed chunked body (${what}); the server is at fault`);
}

/** Decodes `Transfer-Encoding: chunked` across reads. */
class ChunkedDecoder {
  done = false;
  /** Data bytes of the chunks that ended where their size said (each checked by its CRLF). */
  verified = 0;
  private emitted = 0;
  private state: 'size' | 'data' | 'crlf' | 'trailer' = 'size';
  private line = '';
  private left = 0;

  /** Decodes `buf[start, end)`; returns where it stopped: `end`, or the byte after the body. */
  decode(buf: Buffer, start: number, end: number, emit: (from: number, to: number) => void): number {
    let i = start;
    while (i < end && !this.done) {
      if (this.state === 'data') {
        const take = Math.min(this.left, end - i);
        emit(i, i + take);
        this.emitted += take;
        i += take;
        this.left -= take;
        if (this.left === 0) this.state = 'crlf';
        continue;
      }
      const byte = buf[i++]!;
      if (byte !== 0x0a) {
        if (byte !== 0x0d) this.line += String.fromCharCode(byte);
        if (this.line.length > 4096) throw malformed('a line over 4 KiB');
        continue;
      }
      const line = this.line;
      this.line = '';
      if (this.state === 'crlf') {
        // A chunk's data ends exactly where its size said: anything before the line end means
        // the size was wrong (a server counting characters, not bytes), and so are the bytes.
        if (line !== '') throw malformed(`${line.length} more byte(s) after a chunk than its size said`);
        this.verified = this.emitted;
        this.state = 'size';
      } else if (this.state === 'size') {
        const digits = line.split(';')[0]!.trim();
        if (!/^[0-9a-fA-F]{1,12}$/.test(digits)) throw malformed(`chunk size '${line.slice(0, 40)}'`);
        const size = parseInt(digits, 16);
        if (size === 0) this.state = 'trailer';
        else {
          this.left = size;
          this.state = 'data';
        }
      } else if (line === '') {
        this.done = true; // The empty line after the (optional) trailers.
      }
    }
    return i;
  }
}

/**
 * A Content-Length header's value: a count of bytes; the same count given twice (`3, 3`, or two
 * headers) is that count, as RFC 9110 §8.6 allows. `null` when it is no such count (differing
 * counts, a negative or a fraction), `undefined` when there is none.
 */
function contentLength(value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  const counts = new Set(value.split(',').map((v) => v.trim()));
  if (counts.size !== 1) return null;
  const [only] = counts;
  return /^\d{1,15}$/.test(only!) ? Number(only) : null;
}
