// A bare TCP server for answers the demo server cannot give (it speaks through node:http, which
// keeps them well-formed): a body with no length cut by a reset, a 206 whose total is `*`, a 416
// that contradicts the first answer, two Content-Length headers. One request per connection;
// the handler writes the whole answer and ends, resets or keeps the socket as it likes.
import { createServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TestContext } from 'node:test';

export interface RawRequest {
  /** 1 for the first request, and so on. */
  n: number;
  path: string;
  range?: string;
  ifRange?: string;
}

export interface RawServer {
  url(path: string): string;
  readonly requests: RawRequest[];
}

/**
 * Starts the server on a free port of 127.0.0.1; it is closed (its connections too) when `t`
 * ends. With `tls` (a key and certificate), it speaks https.
 */
export async function rawServer(
  t: TestContext,
  handler: (req: RawRequest, socket: Socket) => void,
  options: { tls?: { key: string; cert: string } } = {},
): Promise<RawServer> {
  const requests: RawRequest[] = [];
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const [line, ...fields] = head.slice(0, end).split('\r\n');
      const field = (name: string) =>
        fields
          .find((f) => f.toLowerCase().startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim();
      const req: RawRequest = { n: requests.length + 1, path: line!.split(' ')[1] ?? '/' };
      const range = field('range');
      const ifRange = field('if-range');
      if (range !== undefined) req.range = range;
      if (ifRange !== undefined) req.ifRange = ifRange;
      requests.push(req);
      handler(req, socket);
    };
    socket.on('data', onData);
  };
  const server = options.tls ? createTlsServer(options.tls, onConnection) : createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const scheme = options.tls ? 'https' : 'http';
  return { url: (path) => `${scheme}://127.0.0.1:${port}${path}`, requests };
}

/** An answer's head: the status line, the fields, the blank line. */
export function head(status: string, fields: Record<string, string | number | Array<string | number>>): string {
  const lines = [`HTTP/1.1 ${status}`];
  for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The range `bytes=N-` asks for: N (0 without one). */
export function rangeStart(req: RawRequest): number {
  return Number(/^bytes=(\d+)-$/.exec(req.range ?? '')?.[1] ?? 0);
}

/** A whole, well-formed 200 or (for a Range request) 206 of `content` from the range's start, then the end of the connection. */
export function answerWhole(socket: Socket, req: RawRequest, content: Buffer, fields: Record<string, string> = {}): void {
  const start = rangeStart(req);
  const status = start > 0 ? '206 Partial Content' : '200 OK';
  const range: Record<string, string> = start > 0 ? { 'content-range': `bytes ${start}-${content.length - 1}/${content.length}` } : {};
  socket.write(head(status, { ...fields, ...range, 'content-length': content.length - start, connection: 'close' }));
  socket.end(content.subarray(start));
}
