// Ends that prove nothing. An https body without a length ends where the server closes the
// connection, and Node cannot tell a TLS close_notify from a cut connection: such an end counts
// only once the server confirms it (a 416 to a Range request for the rest), else the download
// fails with TK_DL_UNPROVEN and keeps its .part. And a 206 whose file size is `*` proves no end
// either: the rest is asked for until a 416 says there is none. Both used to be saved, cut
// short, with exit 0.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { it, type TestContext } from 'node:test';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { runCli, sha256, tempDir } from './helpers.ts';
import { head, rangeStart, rawServer, type RawRequest } from './raw-server.ts';
import { selfSigned, type Certificate } from './tls-helpers.ts';

const SIZE = 400_000;
const HALF = SIZE / 2;

/** As raw-server.ts's `rawServer`, over TLS with `cert`: one request per connection. */
async function rawTlsServer(t: TestContext, cert: Certificate, handler: (req: RawRequest, socket: TLSSocket) => void) {
  const requests: RawRequest[] = [];
  const sockets = new Set<TLSSocket>();
  const server = createTlsServer({ key: cert.key, cert: cert.cert }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const [line, ...fields] = text.slice(0, end).split('\r\n');
      const range = fields
        .find((f) => f.toLowerCase().startsWith('range:'))
        ?.slice(6)
        .trim();
      const req: RawRequest = { n: requests.length + 1, path: line!.split(' ')[1] ?? '/', ...(range !== undefined && { range }) };
      requests.push(req);
      handler(req, socket);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: (path: string) => `https://127.0.0.1:${port}${path}`, requests };
}

/** An answer with no length: `bytes`, then the connection ends (as a cut would look to Node). */
function closeDelimited(socket: Socket, bytes: Buffer): void {
  socket.write('HTTP/1.1 200 OK\r\nETag: "v1"\r\nConnection: close\r\n\r\n');
  socket.end(bytes);
}

it('https: a body without a length cut short, from a server that ignores Range, fails with TK_DL_UNPROVEN and keeps its .part.', async (t) => {
  const cert = await selfSigned(t);
  const content = deterministicContent('unproven-cut', SIZE);
  const server = await rawTlsServer(t, cert, (_req, socket) => closeDelimited(socket, content.subarray(0, HALF)));
  const dir = await tempDir(t);
  const r = await runCli([server.url('/cut.bin'), '-o', dir, '--ca-certificate', cert.certFile, '--retries', '0', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const failed = JSON.parse(r.stdout).files[0];
  assert.equal(failed.error.code, 'TK_DL_UNPROVEN');
  assert.match(
    failed.error.message,
    /sent 200000 bytes without saying how many, over https, and did not confirm that nothing follows \(it answered a Range request for the rest with 200, not 416\)/,
  );
  assert.deepEqual((await readdir(dir)).sort(), ['cut.bin.part', 'cut.bin.part.meta']);
  assert.equal((await stat(join(dir, 'cut.bin.part'))).size, HALF);
  assert.deepEqual(
    server.requests.map((q) => q.range),
    [undefined, `bytes=${HALF}-`],
  );
});

it('https: a body without a length cut short resumes from a server that serves Range, and its end is proven by a 416: byte-exact.', async (t) => {
  const cert = await selfSigned(t);
  const content = deterministicContent('unproven-resume', SIZE);
  const server = await rawTlsServer(t, cert, (req, socket) => {
    const start = rangeStart(req);
    if (req.range === undefined) return closeDelimited(socket, content.subarray(0, HALF));
    if (start >= SIZE) {
      socket.end(head('416 Range Not Satisfiable', { 'content-range': `bytes */${SIZE}`, etag: '"v1"', 'content-length': 0, connection: 'close' }));
      return;
    }
    // The rest, again without a length.
    socket.write(head('206 Partial Content', { 'content-range': `bytes ${start}-${SIZE - 1}/*`, etag: '"v1"', connection: 'close' }));
    socket.end(content.subarray(start));
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/r.bin'), '-o', dir, '--ca-certificate', cert.certFile, '--retries', '0']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(await readFile(join(dir, 'r.bin'))), sha256(content));
  assert.deepEqual(await readdir(dir), ['r.bin']);
  assert.deepEqual(
    server.requests.map((q) => q.range),
    // The first ask for the rest only learns there is more (206); the resume then reads it.
    [undefined, `bytes=${HALF}-`, `bytes=${HALF}-`, `bytes=${SIZE}-`],
  );
});

it('https: a whole body without a length is saved once a 416 (with or without Content-Range) confirms its end.', async (t) => {
  const cert = await selfSigned(t);
  const content = deterministicContent('unproven-whole', SIZE);
  for (const fields of [{ 'content-range': `bytes */${SIZE}` }, {}] as Record<string, string>[]) {
    const server = await rawTlsServer(t, cert, (req, socket) => {
      if (req.range === undefined) return closeDelimited(socket, content);
      socket.end(head('416 Range Not Satisfiable', { ...fields, 'content-length': 0, connection: 'close' }));
    });
    const dir = await tempDir(t);
    const r = await runCli([server.url('/w.bin'), '-o', dir, '--ca-certificate', cert.certFile, '--retries', '0']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(await readFile(join(dir, 'w.bin'))), sha256(content));
    assert.deepEqual(
      server.requests.map((q) => q.range),
      [undefined, `bytes=${SIZE}-`],
    );
  }
});

it('a 206 whose file size is `*` proves no end: a server that caps each answer is asked again until its 416, byte-exact.', async (t) => {
  const content = deterministicContent('capped-star', SIZE);
  const CAP = 60_000;
  const server = await rawServer(t, (req, socket) => {
    const start = rangeStart(req);
    if (req.range === undefined) {
      // A chunked first answer (no size known), cut after half.
      socket.write(head('200 OK', { etag: '"cs"', 'transfer-encoding': 'chunked' }));
      socket.write(`${HALF.toString(16)}\r\n`);
      socket.write(content.subarray(0, HALF));
      socket.destroy();
      return;
    }
    if (start >= SIZE) {
      socket.end(head('416 Range Not Satisfiable', { 'content-range': `bytes */${SIZE}`, etag: '"cs"', 'content-length': 0, connection: 'close' }));
      return;
    }
    const end = Math.min(SIZE, start + CAP) - 1;
    socket.write(
      head('206 Partial Content', { etag: '"cs"', 'content-range': `bytes ${start}-${end}/*`, 'content-length': end - start + 1, connection: 'close' }),
    );
    socket.end(content.subarray(start, end + 1));
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/capped.bin'), '-o', dir, '--retry-wait', '0.01']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(await readFile(join(dir, 'capped.bin'))), sha256(content));
  assert.equal(server.requests.at(-1)!.range, `bytes=${SIZE}-`, 'the last ask is answered 416');
});
