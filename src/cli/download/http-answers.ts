/**
 * What is read from an answer's head: where it ends and what its status line says (for
 * http-get.ts), and what the downloader reads from its status and headers: an HTTP error
 * (transient or not, with its `Retry-After`), `Retry-After` itself and `Content-Range`.
 */
import { DownloadError } from './errors.ts';
import type { HttpResponse } from './http-get.ts';

export function httpError(status: number, res: HttpResponse, url: string): DownloadError {
  const transient = status >= 500 || status === 429 || status === 408;
  const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
  const reason = res.statusMessage ? ` ${res.statusMessage}` : '';
  const hint =
    status === 407
      ? 'the proxy wants credentials: give them in the proxy variable, as http://USER:PASSWORD@HOST:PORT (or check the ones given)'
      : status === 404 || status === 410
        ? 'check the URL'
        : status === 401
          ? 'the server wants credentials: put USER:PASSWORD@ in front of the host in the URL (or check the ones given)'
          : status === 403
            ? 'the server refuses access to it'
            : status === 429
              ? 'the server is limiting how often it is asked; wait before trying again (or use a smaller -j)'
              : transient
                ? 'the server had a problem; try again later'
                : 'check the URL';
  return new DownloadError('TK_DL_HTTP_STATUS', `HTTP ${status}${reason} for ${url}; ${hint}`, {
    transient,
    status,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  });
}

/** `Retry-After`: delay-seconds or an HTTP-date, in milliseconds from now. */
export function parseRetryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`), or `bytes *\/TOTAL` on a 416. */
export function parseContentRange(value: string | undefined): { start: number; end: number; total: number | null } | undefined {
  const m = value && /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(value.trim());
  if (!m) return undefined;
  const total = m[3] === '*' ? null : Number(m[3]);
  return { start: m[1] ? Number(m[1]) : -1, end: m[2] ? Number(m[2]) : -1, total };
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * The length of the head at the start of `buf` (through the empty line that ends it), or -1
 * while that line has not come. A line may end in CRLF or in a bare LF, as RFC 9112 §2.2 lets a
 * recipient accept (curl and aria2c do). `from` skips bytes already searched: any LF before it
 * was followed by two bytes that end no head.
 */
export function headLength(buf: Buffer, from = 0): number {
  for (let lf = buf.indexOf(LF, from); lf >= 0; lf = buf.indexOf(LF, lf + 1)) {
    const next = buf[lf + 1];
    if (next === LF) return lf + 2;
    if (next === CR && buf[lf + 2] === LF) return lf + 3;
  }
  return -1;
}

const HTTP_SLASH = Buffer.from('HTTP/');

/** Whether `head` (its first bytes so far) may still be the start of `HTTP/…`, in any case. */
export function mayStartHttp(head: Buffer): boolean {
  const n = Math.min(head.length, HTTP_SLASH.length);
  for (let i = 0; i < n; i++) {
    const b = head[i]!;
    const upper = HTTP_SLASH[i]!;
    // A lower-case letter is its upper case | 0x20; the `/` is only itself.
    if (b !== upper && (i === 4 || b !== (upper | 0x20))) return false;
  }
  return true;
}

export interface StatusLine {
  /** `HTTP/1.0` or `HTTP/1.1`. */
  minor: '0' | '1';
  status: number;
  reason: string;
}

/** `HTTP/1.x NNN reason`, without its line end; undefined when it is no such line. */
export function parseStatusLine(line: string): StatusLine | undefined {
  const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(line);
  return m ? { minor: m[1] as '0' | '1', status: Number(m[2]), reason: m[3] ?? '' } : undefined;
}

/**
 * Up to `max` bytes of what a peer sent, between backticks, readable and on one line: CR, LF
 * and tab as `\r`, `\n`, `\t`, other bytes outside printable ASCII (and the backtick and
 * backslash) as `\xNN`; `…` after it when there was more.
 */
export function quoteBytes(buf: Buffer, max = 64): string {
  let out = '';
  for (const b of buf.subarray(0, max)) {
    if (b === CR) out += '\\r';
    else if (b === LF) out += '\\n';
    else if (b === 0x09) out += '\\t';
    else if (b >= 0x20 && b < 0x7f && b !== 0x60 && b !== 0x5c) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `\`${out}${buf.length > max ? '…' : ''}\``;
}
