/**
 * A GET that follows redirects (301, 302, 303, 307, 308) to the response that is not one, at
 * most `maxRedirects` hops, http: and https: only. Each hop is one `httpGet` (http-get.ts); the
 * redirect's connection is dropped, not read.
 *
 * A user name and password in the URL (`https://user:secret@host/…`) are sent as Basic
 * authorization to that URL's origin (scheme, host and port) only: a redirect to the same
 * origin keeps them, one to another host or scheme goes without them, as curl does.
 */
import { isUtf8 } from 'node:buffer';
import { basicAuth } from './connection.ts';
import { DownloadError } from './errors.ts';
import { httpGet, type GetOptions, type HttpResponse } from './http-get.ts';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface RedirectOptions extends GetOptions {
  maxRedirects: number;
  /** The URL as the user gave it, for the message when there are too many hops. */
  asked: string;
}

/** Resolves once the headers of the final response are in, with the URL that answered. */
export async function getFollowingRedirects(
  url: URL,
  headers: Record<string, string>,
  options: RedirectOptions,
): Promise<{ res: HttpResponse; finalUrl: URL }> {
  const { maxRedirects, asked, ...get } = options;
  const credentials = basicAuth(url);
  const origin = credentials && url.origin;
  for (let hops = 0; ; hops++) {
    const auth = hops === 0 ? credentials : (basicAuth(url) ?? (credentials && url.origin === origin ? credentials : undefined));
    const res = await httpGet(url, auth ? { ...headers, authorization: auth } : headers, get);
    if (!REDIRECTS.has(res.status)) return { res, finalUrl: url };
    const location = asUtf8(res.headers.location);
    res.destroy();
    if (!location) throw new DownloadError('TK_DL_REDIRECT', `${url} redirected (${res.status}) without a Location header`);
    if (hops >= maxRedirects) {
      throw new DownloadError('TK_DL_REDIRECT', `${asked} redirected more than ${maxRedirects} times; check the URL (a redirect loop?)`);
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new DownloadError('TK_DL_REDIRECT', `${url} redirected (${res.status}) to '${location}', which is not a URL; the server is at fault`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new DownloadError('TK_DL_REDIRECT', `${url} redirected to ${next.protocol} which is not supported`);
    }
    url = next;
  }
}

/**
 * A header's text, read as Latin-1 (one character a byte), as UTF-8 when its bytes are UTF-8: a
 * Location of raw UTF-8 (`/ünï.bin`, as many servers send) is then asked for as
 * `/%C3%BCn%C3%AF.bin`, as curl, wget2 and aria2c do, not double-encoded; other bytes stay Latin-1.
 */
function asUtf8(value: string | undefined): string | undefined {
  if (value === undefined || !/[^\x00-\x7f]/.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : value;
}
