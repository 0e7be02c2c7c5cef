/**
 * The proxy for a URL, from the environment as curl and wget read it: `http_proxy` /
 * `HTTP_PROXY` for `http:` URLs, `https_proxy` / `HTTPS_PROXY` for `https:` URLs (the lower-case
 * name wins when both are set), and `no_proxy` / `NO_PROXY`: a comma-separated list of hosts
 * that go direct — `*` for all, `example.com` or `.example.com` for that domain and its
 * subdomains, an IP address, any of them with an optional `:port`.
 *
 * Only `http://` proxies are supported: plain requests go to them with an absolute URL, and
 * `https:` requests through a `CONNECT` tunnel (TLS then runs end to end, so the certificate
 * checked is the server's, not the proxy's).
 */
import { UsageError } from './errors.ts';

export type Environment = Readonly<Record<string, string | undefined>>;

function envValue(env: Environment, name: string): string | undefined {
  const value = env[name.toLowerCase()] ?? env[name.toUpperCase()];
  return value?.trim() ? value.trim() : undefined;
}

interface ProxySettings {
  http?: string;
  https?: string;
  noProxy?: string;
}

/** Read once: each `process.env` lookup is a call into C++, and every request asks. */
let fromProcess: ProxySettings | undefined;

function settingsOf(env: Environment): ProxySettings {
  const read = (name: string) => envValue(env, name);
  const s: ProxySettings = {};
  const http = read('http_proxy');
  const https = read('https_proxy');
  const noProxy = read('no_proxy');
  if (http) s.http = http;
  if (https) s.https = https;
  if (noProxy) s.noProxy = noProxy;
  return s;
}

/** The proxy to use for `url`, or undefined to connect directly. Throws a `UsageError` for a bad proxy URL. */
export function proxyFor(url: URL, env: Environment = process.env): URL | undefined {
  const settings = env === process.env ? (fromProcess ??= settingsOf(env)) : settingsOf(env);
  const variable = url.protocol === 'https:' ? 'https_proxy' : 'http_proxy';
  const raw = url.protocol === 'https:' ? settings.https : settings.http;
  if (!raw || bypassed(url, settings.noProxy)) return undefined;
  let proxy: URL;
  try {
    proxy = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new UsageError(`${variable.toUpperCase()}='${raw}' is not a URL; set it to http://HOST:PORT, or unset it`);
  }
  if (proxy.protocol !== 'http:') {
    throw new UsageError(`${variable.toUpperCase()}='${raw}' uses ${proxy.protocol.slice(0, -1)}; only http:// proxies are supported`);
  }
  return proxy;
}

/** Whether `no_proxy` sends `url` direct. */
export function bypassed(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const entry of noProxy.split(/[\s,]+/)) {
    if (!entry) continue;
    if (entry === '*') return true;
    const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(entry.toLowerCase());
    // A bare IPv6 address has colons of its own: take it whole.
    const [name, entryPort] = entry.includes('::') && !entry.startsWith('[') ? [entry.toLowerCase(), undefined] : [m?.[1] ?? '', m?.[2]];
    if (entryPort && entryPort !== port) continue;
    const domain = name.replace(/^\*?\./, '');
    if (host === domain) return true;
    // A name's subdomains go direct too; an IP address matches only itself (127.0.0.1 is not "under" 0.1).
    if (!isIpAddress(host) && host.endsWith(`.${domain}`)) return true;
  }
  return false;
}

function isIpAddress(host: string): boolean {
  return host.includes(':') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}
