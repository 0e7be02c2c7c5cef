/**
 * What the downloader reads from an answer's status and headers: an HTTP error (transient or
 * not, with its `Retry-After`), `Retry-After` itself and `Content-Range`.
 */
import { DownloadError } from './errors.ts';
import type { HttpResponse } from './http-get.ts';

export function httpError(status: number, res: HttpResponse, url: string): DownloadError {
  const transient = status >= 500 || status === 429 || status === 408;
  const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
  const reason = res.statusMessage ? ` ${res.statusMessage}` : '';
  const hint =
    status === 407
      ? 'the proxy wants credentials: give them in the proxy variable, as http://USER:PASSWORD@HOST:PORT'
      : status === 404 || status === 410
        ? 'check the URL'
        : status === 401
          ? 'the server wants credentials: put USER:PASSWORD@ in front of the host in the URL (or check the ones given)'
          : status === 403
            ? 'the server refuses access to it'
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
