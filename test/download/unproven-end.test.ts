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
import { it } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { runCli, sha256, tempDir } from './helpers.ts';
import { head, rangeStart, rawServer } from './raw-server.ts';
import { selfSigned } from './tls-helpers.ts';

const SIZE = 400_000;
const HALF = SIZE / 2;

/** An answer with no length: `bytes`, then the connection ends (as a cut would look to Node). */
function closeDelimited(socket: Socket, bytes: Buffer): void {
  socket.write('HTTP/1.1 200 OK\r\nETag: "v1"\r\nConnection: close\r\n\r\n');
  socket.end(bytes);
}

it('https: a body without a length cut short, from a server that ignores Range, fails with TK_DL_UNPROVEN and keeps its .part.', async (t) => {
  const cert = await selfSigned(t);
  const content = deterministicContent('unproven-cut', SIZE);
  const server = await rawServer(t, (_req, socket) => closeDelimited(socket, content.subarray(0, HALF)), { tls: cert });
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
  const server = await rawServer(
    t,
    (req, socket) => {
      const start = rangeStart(req);
      if (req.range === undefined) return closeDelimited(socket, content.subarray(0, HALF));
      if (start >= SIZE) {
        socket.end(head('416 Range Not Satisfiable', { 'content-range': `bytes */${SIZE}`, etag: '"v1"', 'content-length': 0, connection: 'close' }));
        return;
      }
      // The rest, again without a length.
      socket.write(head('206 Partial Content', { 'content-range': `bytes ${start}-${SIZE - 1}/*`, etag: '"v1"', connection: 'close' }));
      socket.end(content.subarray(start));
    },
    { tls: cert },
  );
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
    const server = await rawServer(
      t,
      (req, socket) => {
        if (req.range === undefined) return closeDelimited(socket, content);
        socket.end(head('416 Range Not Satisfiable', { ...fields, 'content-length': 0, connection: 'close' }));
      },
      { tls: cert },
    );
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
