/**
 * A local HTTP server for `threadkit download --demo` and for the tests: serves in-memory
 * files with deterministic content at a throttled speed, with `Range` (206/416), `If-Range`,
 * ETag/Last-Modified, `Content-Disposition`, redirects, and faults on demand: a connection
 * dropped after K bytes, N error answers (500, 429 + Retry-After) before success, a server
 * that ignores `Range` or only `If-Range`, a file that changes after N requests, validators
 * of one kind only (strong or weak ETag, Last-Modified, none), and TLS. It listens on 127.0.0.1
 * only, on a random port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createHash, randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface ServedFile {
  /** URL path, such as `/files/a.bin` (percent-encode non-ASCII names with `encodeURI`). */
  path: string;
  content: Buffer;
  /** Throttle: the whole file takes this long (a Range request proportionally less). */
  seconds?: number;
  contentDisposition?: string;
  /** Close the connection after this many body bytes, on the first `drops` (default 1) answers. */
  dropAfter?: number;
  drops?: number;
  /** Answer the first `failTimes` requests with `failStatus` (default 500). */
  failTimes?: number;
  failStatus?: number;
  /** `Retry-After` seconds sent with the failures. */
  retryAfter?: number;
  /** Answer every request 200 with the whole file, as servers without Range support do. */
  ignoreRange?: boolean;
  /** Honour Range but not If-Range: a 206 of whatever the file is now, with its new validators. */
  ignoreIfRange?: boolean;
  /** After this many requests of the file, serve `changedContent` (new ETag and Last-Modified). */
  changeAfter?: number;
  changedContent?: Buffer;
  /** Which validators to send (default both: a strong ETag and Last-Modified). */
  validators?: 'both' | 'strong-etag' | 'weak-etag' | 'last-modified' | 'none';
  /** `USER:PASSWORD`: answer 401 unless the request carries them as Basic authorization. */
  basicAuth?: string;
}

export interface ServedRequest {
  path: string;
  range?: string;
  ifRange?: string;
  authorization?: string;
  status: number;
  /** Body bytes written so far (final once the response closed). */
  bytesSent: number;
}

export interface DemoServerOptions {
  files: ServedFile[];
  /** Path → Location (absolute path or URL), answered 302. */
  redirects?: Record<string, string>;
  /** Serve https: with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
}

const LAST_MODIFIED = new Date(Date.UTC(2018, 4, 1)).toUTCString();
const TICK_MS = 20;

export class DemoServer {
  /** Every request, in arrival order. */
  readonly requests: ServedRequest[] = [];
  /** TCP connections accepted (fewer than requests when clients keep them alive). */
  connections = 0;
  private readonly files = new Map<string, ServedFile & { hits: number }>();
  private readonly scheme: string;
  private readonly redirects: Record<string, string>;
  private readonly server: Server;
  private port = 0;

  private constructor(options: DemoServerOptions) {
    for (const f of options.files) this.files.set(decodePath(f.path), { ...f, hits: 0 });
    this.redirects = Object.fromEntries(Object.entries(options.redirects ?? {}).map(([k, v]) => [decodePath(k), v]));
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.scheme = options.tls ? 'https' : 'http';
    this.server = options.tls ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createServer(handler);
    this.server.on('connection', () => this.connections++);
  }

  static async start(options: DemoServerOptions): Promise<DemoServer> {
    const s = new DemoServer(options);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(0, '127.0.0.1', () => resolve());
    });
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  /** The full URL of a path on this server. */
  url(path: string): string {
    return `${this.scheme}://127.0.0.1:${this.port}${path}`;
  }

  /** The validators the file at `path` has now (before any `changeAfter`: of `content`). */
  validatorsOf(path: string): { etag: string; lastModified: string } {
    const f = this.files.get(decodePath(path))!;
    const changed = f.changeAfter !== undefined && f.hits > f.changeAfter && f.changedContent !== undefined;
    return validators(changed ? f.changedContent! : f.content, changed ? 1 : 0);
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = decodePath(new URL(req.url ?? '/', 'http://x').pathname);
    const record: ServedRequest = { path, status: 0, bytesSent: 0 };
    if (req.headers.range) record.range = req.headers.range;
    if (typeof req.headers['if-range'] === 'string') record.ifRange = req.headers['if-range'];
    if (req.headers.authorization) record.authorization = req.headers.authorization;
    this.requests.push(record);
    const answer = (status: number, headers: Record<string, string | number> = {}, body = '') => {
      record.status = status;
      res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers }).end(body);
    };

    const location = this.redirects[path];
    if (location) return answer(302, { location });
    const file = this.files.get(path);
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) return answer(404, {}, 'not found\n');
    if (file.basicAuth !== undefined && req.headers.authorization !== `Basic ${Buffer.from(file.basicAuth).toString('base64')}`) {
      return answer(401, { 'www-authenticate': 'Basic realm="threadkit"' }, 'who are you?\n');
    }
    file.hits++;
    if (file.failTimes && file.hits <= file.failTimes) {
      return answer(file.failStatus ?? 500, file.retryAfter !== undefined ? { 'retry-after': file.retryAfter } : {}, 'try again\n');
    }

    const changed = file.changeAfter !== undefined && file.hits > file.changeAfter && file.changedContent !== undefined;
    const content = changed ? file.changedContent! : file.content;
    const { etag, lastModified } = validators(content, changed ? 1 : 0);
    const kind = file.validators ?? 'both';
    const size = content.length;
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
    if (kind === 'both' || kind === 'last-modified') headers['last-modified'] = lastModified;
    if (kind === 'both' || kind === 'strong-etag') headers.etag = etag;
    if (kind === 'weak-etag') headers.etag = `W/${etag}`;
    if (!file.ignoreRange) headers['accept-ranges'] = 'bytes';
    if (file.contentDisposition) headers['content-disposition'] = file.contentDisposition;

    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = !file.ignoreRange && parseRange(req.headers.range);
    const ifRange = req.headers['if-range'];
    const ifRangeHolds = !ifRange || file.ignoreIfRange || ifRange === headers.etag || ifRange === headers['last-modified'];
    if (range && ifRangeHolds) {
      if (range.start >= size) return answer(416, { 'content-range': `bytes */${size}` });
      start = range.start;
      end = Math.min(range.end ?? size - 1, size - 1);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['content-length'] = end - start + 1;
    record.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();

    const body = content.subarray(start, end + 1);
    const dropAt = file.dropAfter !== undefined && file.hits <= (file.drops ?? 1) ? file.dropAfter : Infinity;
    const rate = file.seconds ? size / file.seconds : Infinity;
    this.send(res, body, rate, dropAt, record);
  }

  /** Writes `body` at `rate` bytes/s; destroys the socket after `dropAt` bytes. */
  private send(res: ServerResponse, body: Buffer, rate: number, dropAt: number, record: ServedRequest): void {
    const began = performance.now();
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    res.on('close', () => clearTimeout(timer));
    const step = () => {
      const due = Math.min(body.length, dropAt, rate === Infinity ? body.length : Math.floor((rate * (performance.now() - began)) / 1000));
      if (due > sent) {
        const chunk = body.subarray(sent, due);
        sent = due;
        record.bytesSent = sent;
        if (sent >= dropAt) {
          // Let the bytes reach the kernel, then cut the connection mid-body.
          res.write(chunk, () => res.socket?.destroy());
          return;
        }
        if (sent >= body.length) return void res.end(chunk);
        const more = res.write(chunk);
        if (!more && rate === Infinity) return void res.once('drain', step);
      }
      timer = setTimeout(step, rate === Infinity ? 0 : TICK_MS);
    };
    step();
  }
}

/** A version's ETag (from its bytes) and Last-Modified (a day later per version). */
function validators(content: Buffer, version: number): { etag: string; lastModified: string } {
  return {
    etag: `"${createHash('sha256').update(content).digest('hex').slice(0, 16)}"`,
    lastModified: new Date(Date.parse(LAST_MODIFIED) + version * 86_400_000).toUTCString(),
  };
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function parseRange(header: string | undefined): { start: number; end?: number } | undefined {
  const m = header && /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  return m[2] ? { start: Number(m[1]), end: Number(m[2]) } : { start: Number(m[1]) };
}

/**
 * Deterministic pseudo-random bytes (xorshift32 seeded from `seed`), starting with `header`
 * so that the demo's `.pdf` looks like a PDF and its `.avi` like an AVI to `file(1)`.
 */
export function deterministicContent(seed: string, size: number, header = ''): Buffer {
  const buf = Buffer.allocUnsafe(Math.ceil(size / 4) * 4);
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  let x = createHash('sha256').update(seed).digest().readUInt32LE(0) || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  buf.write(header.slice(0, size), 0, 'latin1');
  return buf.subarray(0, size);
}

/** The seed's two files. */
export const DEMO_FILES = [
  { name: 'Python从入门到住院.pdf', size: 3 * 1024 * 1024 + 12345, header: '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n' },
  { name: 'Peking Hot.avi', size: 7 * 1024 * 1024 + 54321, header: 'RIFF\x00\x00\x00\x00AVI LIST' },
] as const;

/**
 * The demo's files, served from `/files/NAME`, each taking `seconds[i]` (default: a random
 * whole number from 5 to 10, like the seed's `randint(5, 10)`).
 */
export function demoFiles(seconds: number[] = []): ServedFile[] {
  return DEMO_FILES.map((f, i) => ({
    path: `/files/${encodeURIComponent(f.name)}`,
    content: deterministicContent(f.name, f.size, f.header),
    seconds: seconds[i] ?? seconds[seconds.length - 1] ?? randomInt(5, 11),
  }));
}
