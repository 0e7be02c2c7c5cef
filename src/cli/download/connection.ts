/**
 * A connection to one origin (scheme, host, port, and proxy if any), reused across requests
 * (HTTP/1.1 keep-alive) through `ConnectionPool`.
 *
 * Reads go to one `ConnectionSink` at a time (the response being received). A plain TCP socket
 * reads straight into one 256 KiB buffer of its own (`onread`): each read fills the rest of it,
 * so it collects several reads before they are written out in one system call, and once it is
 * full and flushed the next read starts at its beginning again. No buffer per read, no stream
 * machinery, and the same memory over and over: measured on 8 × 256 MiB from nginx (2 cores),
 * a fresh 1 MiB buffer per fill cost about 1.5 s more system time than reusing one (page faults
 * and cache misses on every new buffer, the kernel's copies into cold memory, and the GC that
 * external memory triggers); 256 KiB per connection stays in the core's cache, 1 MiB did not.
 * A TLS socket delivers Node's own chunks. Either way the sink hears `flush()` each time the
 * buffer is nearly full (or 50 ms have passed): the point to hand what it holds to the disk.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { DownloadError } from './errors.ts';

export interface ConnectionSink {
  /**
   * Bytes `buf[start, end)` arrived. They stay valid until `flush()` returns (or the response
   * ends): the connection then reads into `buf` again. What the sink keeps longer, it copies.
   */
  data(buf: Buffer, start: number, end: number): void;
  /**
   * The buffer is nearly full, or 50 ms passed, since the last flush: write out (or copy) what
   * you hold of it. When this returns, nothing handed in by `data()` may be held any more.
   */
  flush(): void;
  /** The peer closed its side (EOF). */
  end(): void;
  /** The socket closed; `error` says why, if it broke. */
  close(error: unknown): void;
}

export interface ConnectSettings {
  connectTimeoutMs: number;
  /** Extra trusted certificates (PEM), added to Node's roots (and NODE_EXTRA_CA_CERTS). */
  ca?: string;
  proxy?: URL;
}

const BUFFER_SIZE = 256 * 1024;
/** A read gets at least this much room; below it the buffer is flushed and starts over. */
const MIN_READ = 64 * 1024;
const IDLE_MS = 4000;
/** On a slow link, bytes wait at most this long for the disk (what a crash can lose). */
const FLUSH_MS = 50;

export class Connection {
  readonly key: string;
  /** How many requests this connection has carried (1 while the first is running). */
  uses = 0;
  private socket!: Socket;
  private sink: ConnectionSink | undefined;
  private buf = Buffer.allocUnsafeSlow(BUFFER_SIZE);
  private fill = 0;
  private sinceFlush = 0;
  private flushedAt = 0;
  private closed = false;
  private error: unknown;
  /**
   * The one timer of the connection, for whichever limit it watches (`watch`): the silence of
   * a response (--timeout) or the idle time in the pool. It is moved only when it would fire
   * too late; a read just notes the time, and a timer that fires early sets itself again.
   */
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private watchMs = 0;
  private onSilence: (() => void) | undefined;
  private lastActivity = 0;

  private constructor(key: string) {
    this.key = key;
  }

  /** Connects (through the proxy's CONNECT tunnel for https:) and resolves once ready for a request. */
  static open(url: URL, key: string, settings: ConnectSettings): Promise<Connection> {
    const c = new Connection(key);
    return c.connect(url, settings).then(() => c);
  }

  /** Closed, or being closed: never to carry another request. */
  get isClosed(): boolean {
    return this.closed || this.socket.destroyed;
  }

  private async connect(url: URL, { connectTimeoutMs, ca, proxy }: ConnectSettings): Promise<void> {
    const target = { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
    const hop = proxy ? { host: proxy.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(proxy.port || 80) } : target;
    const where = proxy ? `the proxy ${proxy.host}` : url.host;
    const timeout = new DownloadError('TK_DL_TIMEOUT', `could not connect to ${where} within ${connectTimeoutMs / 1000} s (--connect-timeout)`, {
      transient: true,
    });
    const tls = url.protocol === 'https:';
    const raw = netConnect({
      ...hop,
      // TLS reads through its own stream; a plain socket reads into our buffers.
      ...(!tls && { onread: { buffer: () => this.nextBuffer(), callback: (n: number) => this.onRead(n) } }),
    });
    raw.setNoDelay(true);
    // Each step below listens for its own failure; this one keeps an error between steps (the
    // time-out during a proxy's CONNECT or the TLS handshake) from going unheard, which ends the process.
    raw.on('error', () => {});
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      raw.destroy(timeout);
    }, connectTimeoutMs);
    try {
      try {
        await once(raw, 'connect');
      } catch (err) {
        throw proxy && !timedOut ? proxyError(err, proxy) : err;
      }
      if (proxy && tls) await tunnel(raw, `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`, proxy);
      if (tls) {
        // Loaded for the first https: URL only: node:tls (and node:crypto under it) is about
        // 9 ms of start-up, a third of what an http:-only run costs before its first request.
        const { connect: tlsConnect, rootCertificates } = await import('node:tls');
        const secure = tlsConnect({
          socket: raw,
          // The certificate is checked against `host`; SNI carries names only, not IP addresses.
          host: target.host,
          ...(!/^[\d.]+$|:/.test(target.host) && { servername: target.host }),
          ALPNProtocols: ['http/1.1'],
          ...(ca && { ca: [...rootCertificates, ca] }),
        });
        await once(secure, 'secureConnect');
        secure.on('data', (chunk: Buffer) => this.onChunk(chunk));
        this.socket = secure;
      } else {
        this.socket = raw;
      }
    } catch (err) {
      raw.destroy();
      throw timedOut ? timeout : err;
    } finally {
      clearTimeout(timer);
    }
    this.socket.on('error', (err) => (this.error ??= err));
    // The end of an idle connection: the server closed it, and it is not to be asked again.
    this.socket.on('end', () => (this.sink ? this.sink.end() : this.destroy()));
    this.socket.on('close', () => {
      this.closed = true;
      clearTimeout(this.timer);
      const sink = this.sink;
      this.sink = undefined;
      sink?.close(this.error);
    });
  }

  /** Sends a request; reads go to `sink` until `detach()`. */
  request(head: string, sink: ConnectionSink): void {
    this.watch(0);
    this.socket.ref();
    this.uses++;
    this.sink = sink;
    this.error = undefined;
    this.socket.write(head, 'latin1');
    this.socket.resume();
  }

  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    if (!this.closed) this.socket.resume();
  }
  /** Calls `onTimeout` once nothing has been read for `ms` from now on (0: no limit). */
  setTimeout(ms: number, onTimeout?: () => void): void {
    this.watch(ms, onTimeout);
  }
  destroy(error?: unknown): void {
    this.socket.destroy(error as Error | undefined);
  }

  /**
   * The response is over and the connection may carry another: it waits, unref'd, in the pool,
   * reading. Whatever comes before the next request (bytes, or the end) is nothing we asked for:
   * the connection is dropped (`deliver`, and 'end'), so those bytes are never taken for the
   * next answer. Reading while idle costs no system call of its own: a paused connection (its
   * answer came whole with the head) would start reading at the next request anyway.
   */
  detach(pool: ConnectionPool | undefined): void {
    this.sink = undefined;
    this.watch(0);
    if (!pool || this.isClosed) return this.destroy();
    this.socket.unref();
    this.watch(IDLE_MS, () => this.destroy());
    this.socket.resume();
    pool.put(this);
  }

  /**
   * Watches for `ms` of silence from now on (0: stops). Replaces `socket.setTimeout`, which
   * costs a new Timeout, a bound function and listener changes each time, three times a
   * request: measured on 5000 files of 1-16 KiB, about 7 µs of CPU a file.
   */
  private watch(ms: number, onTimeout?: () => void): void {
    this.lastActivity = performance.now();
    this.watchMs = ms;
    this.onSilence = onTimeout;
    if (ms > 0) this.arm(this.lastActivity + ms);
  }

  private arm(due: number): void {
    // A timer due first stays: it finds the limit not reached yet and sets itself again.
    if (this.timer && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.check(), Math.max(1, Math.ceil(due - performance.now()))).unref();
  }

  private check(): void {
    this.timer = undefined;
    if (this.closed || this.watchMs === 0) return;
    const due = this.lastActivity + this.watchMs;
    if (performance.now() < due) return this.arm(due);
    const onTimeout = this.onSilence;
    this.watchMs = 0;
    this.onSilence = undefined;
    onTimeout?.();
  }

  private nextBuffer(): Buffer {
    // Flushed (or ended) whenever it got this full, so no sink holds any of it: start over.
    if (BUFFER_SIZE - this.fill < MIN_READ) this.fill = 0;
    return this.buf.subarray(this.fill);
  }

  private onRead(n: number): boolean {
    const start = this.fill;
    this.fill += n;
    this.deliver(this.buf, start, this.fill);
    return true;
  }

  private onChunk(chunk: Buffer): void {
    this.deliver(chunk, 0, chunk.length);
  }

  private deliver(buf: Buffer, start: number, end: number): void {
    const sink = this.sink;
    if (!sink) {
      // Bytes on an idle connection: the server is not speaking HTTP/1.1 keep-alive as we think.
      // Destroyed at once, so that `isClosed` keeps the pool from handing it out again.
      this.destroy();
      return;
    }
    sink.data(buf, start, end);
    this.sinceFlush += end - start;
    const now = performance.now();
    this.lastActivity = now;
    if (this.sinceFlush >= BUFFER_SIZE - MIN_READ || BUFFER_SIZE - this.fill < MIN_READ || now - this.flushedAt >= FLUSH_MS) {
      this.sinceFlush = 0;
      this.flushedAt = now;
      this.sink?.flush();
    }
  }
}

/** Idle keep-alive connections by origin. */
export class ConnectionPool {
  private readonly idle = new Map<string, Connection[]>();

  /** An idle connection for `key`, if one is still open. */
  take(key: string): Connection | undefined {
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const c = list.pop()!;
      if (!c.isClosed) return c;
    }
    return undefined;
  }

  put(c: Connection): void {
    const list = this.idle.get(c.key) ?? [];
    list.push(c);
    this.idle.set(c.key, list);
  }
}

/** The pool every download of this thread shares. */
export const sharedPool = new ConnectionPool();

function once(emitter: Socket, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      emitter.off(event, onEvent);
      reject(err);
    };
    const onEvent = () => {
      emitter.off('error', onError);
      emitter.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      emitter.off(event, onEvent);
      reject(new DownloadError('TK_DL_NETWORK', 'the connection closed while connecting', { transient: true }));
    };
    emitter.once(event, onEvent);
    emitter.once('error', onError);
    emitter.once('close', onClose);
  });
}

/** Reaching the proxy failed: named as the proxy's failure, not the server's. */
function proxyError(err: unknown, proxy: URL): DownloadError {
  const code = (err as NodeJS.ErrnoException)?.code ?? 'error';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new DownloadError('TK_DL_DNS', `cannot resolve the proxy's host ${proxy.hostname} (${code}); check HTTP_PROXY / HTTPS_PROXY`, { cause: err });
  }
  return new DownloadError('TK_DL_NETWORK', `cannot connect to the proxy ${proxy.host} (${code}); is it running? (HTTP_PROXY / HTTPS_PROXY)`, {
    cause: err,
    transient: true,
  });
}

/**
 * `Basic …` for the user name and password in `url` (a server's or a proxy's), undefined when it
 * has none: their bytes, percent-escapes decoded, as the URL standard's percent-decode does (a
 * `%` that starts no escape stays a `%`, as in curl).
 */
export function basicAuth(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  return `Basic ${Buffer.concat([percentDecode(url.username), Buffer.from(':'), percentDecode(url.password)]).toString('base64')}`;
}

function percentDecode(text: string): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of text.matchAll(/%([\da-f]{2})/gi)) {
    parts.push(Buffer.from(text.slice(last, m.index)), Buffer.of(Number.parseInt(m[1]!, 16)));
    last = m.index + 3;
  }
  parts.push(Buffer.from(text.slice(last)));
  return Buffer.concat(parts);
}

/** `CONNECT host:port` through an HTTP proxy; resolves once it answered 200. */
function tunnel(socket: Socket, authority: string, proxy: URL): Promise<void> {
  const credentials = basicAuth(proxy);
  const auth = credentials ? `proxy-authorization: ${credentials}\r\n` : '';
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n${auth}\r\n`, 'latin1');
  return new Promise((resolve, reject) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 16 * 1024) fail(new DownloadError('TK_DL_NETWORK', `the proxy ${proxy.host} sent an over-long answer to CONNECT`));
        return;
      }
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      socket.pause();
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      if (status !== 200) {
        const hint =
          status === 407
            ? `; the proxy wants credentials: give them in the proxy variable, as http://USER:PASSWORD@${proxy.host} (${credentials ? 'the ones given were refused' : 'none were given'})`
            : '';
        return fail(
          new DownloadError('TK_DL_NETWORK', `the proxy ${proxy.host} refused to connect to ${authority}: ${head.split('\r\n', 1)[0]}${hint}`, { status }),
        );
      }
      if (end + 4 < head.length) socket.unshift(Buffer.from(head.slice(end + 4), 'latin1'));
      resolve();
    };
    const onClose = () => fail(new DownloadError('TK_DL_NETWORK', `the proxy ${proxy.host} closed the connection during CONNECT`, { transient: true }));
    const onError = (err: unknown) =>
      fail(
        err instanceof DownloadError
          ? err
          : new DownloadError('TK_DL_NETWORK', `the connection to the proxy ${proxy.host} failed during CONNECT: ${String(err)}`, { transient: true }),
      );
    const fail = (err: DownloadError) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      reject(err);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onError);
  });
}
