import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGet } from '../../dist/cli/download/http-get.js';
import { tempDir } from './helpers.ts';

/**
 * A raw TCP server on loopback that keeps its connections open: `answer(socket, i)` answers the
 * i-th request on a connection. Stopped, with its sockets, after the test.
 */
async function keptAliveServer(t: TestContext, answer: (socket: Socket, i: number) => void): Promise<{ url: URL; connections: () => number }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let asked = 0;
    socket.on('data', () => answer(socket, asked++));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/file`), connections: () => connections };
}

/** A raw TCP server that answers the first request of every connection with `answer(socket)`. */
async function rawServer(t: TestContext, answer: (socket: Socket) => Promise<void>): Promise<URL> {
  const { url } = await keptAliveServer(t, (socket, i) => {
    if (i === 0) void answer(socket).catch(() => socket.destroy());
  });
  return url;
}

async function fetchTo(t: TestContext, url: URL): Promise<{ status: number; body: Buffer; headers: Record<string, string | undefined> }> {
  const dir = await tempDir(t);
  const path = join(dir, 'body');
  await writeFile(path, '');
  const res = await httpGet(url, {}, { timeoutMs: 5000 });
  let counted = 0;
  await res.saveBody(path, 0, (n: number) => (counted += n));
  const body = await readFile(path);
  assert.equal(counted, body.length);
  return { status: res.status, body, headers: res.headers };
}

it('A chunked body is decoded exactly, whatever the read boundaries.', async (t) => {
  const url = await rawServer(t, async (s) => {
    s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n5\r\nhel');
    await sleep(20);
    s.write('lo\r\n6;ext=1\r\n world\r');
    await sleep(20);
    s.end('\n0\r\nTrailer: x\r\n\r\n');
  });
  const r = await fetchTo(t, url);
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'hello world');
  assert.equal(r.headers['x-a'], '1, 2');
});

it('A body without length ends at the close; a head split over reads and a 100 Continue before it are handled.', async (t) => {
  const url = await rawServer(t, async (s) => {
    s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 Fine\r');
    await sleep(20);
    s.write('\nContent-Type: text/plain\r\n\r');
    await sleep(20);
    s.write('\nfirst part, ');
    await sleep(20);
    s.end('second part');
  });
  const r = await fetchTo(t, url);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/plain');
  assert.equal(r.body.toString(), 'first part, second part');
});

it('A body cut short of its Content-Length rejects after writing every byte received.', async (t) => {
  const url = await rawServer(t, async (s) => {
    s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
  });
  const dir = await tempDir(t);
  const path = join(dir, 'body');
  await writeFile(path, 'PREFIX');
  const res = await httpGet(url, {}, { timeoutMs: 5000 });
  await assert.rejects(
    res.saveBody(path, 6, () => {}),
    { code: 'TK_DL_NETWORK', transient: true, message: /^127\.0\.0\.1:\d+ closed the connection after 10 of 100 bytes of the body$/ },
  );
  assert.equal((await readFile(path)).toString(), 'PREFIX0123456789');
});

it('A server that goes quiet fails the request with a time-out error.', async (t) => {
  const url = await rawServer(t, async (s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc');
  });
  const dir = await tempDir(t);
  const path = join(dir, 'body');
  await writeFile(path, '');
  const res = await httpGet(url, {}, { timeoutMs: 200 });
  await assert.rejects(
    res.saveBody(path, 0, () => {}),
    { code: 'TK_DL_TIMEOUT', transient: true },
  );
  assert.equal((await readFile(path)).toString(), 'abc');
});

it('Bodies far larger than the read buffer, one after another on a kept-alive connection, arrive byte-exact (the buffer is reused).', async (t) => {
  const { randomBytes } = await import('node:crypto');
  const { ConnectionPool } = await import('../../dist/cli/download/connection.js');
  const bodies = [randomBytes(3 * 1024 * 1024 + 12345), randomBytes(2 * 1024 * 1024 + 777), randomBytes(100_000)];
  const { url, connections } = await keptAliveServer(t, (socket, i) => {
    const body = bodies[i]!;
    void (async () => {
      // Even requests: Content-Length; odd: chunked with uneven chunks. Written in uneven pieces.
      const chunked = i % 2 === 1;
      socket.write(`HTTP/1.1 200 OK\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`}\r\n\r\n`);
      for (let at = 0, n = 1; at < body.length; n++) {
        const size = Math.min(body.length - at, ((n * 40_503) % 300_000) + 1);
        const piece = body.subarray(at, at + size);
        socket.write(chunked ? Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece);
        at += size;
        if (n % 7 === 0) await sleep(1);
      }
      if (chunked) socket.write('0\r\n\r\n');
    })();
  });
  const pool = new ConnectionPool();
  const dir = await tempDir(t);
  for (const [i, expected] of bodies.entries()) {
    const path = join(dir, `body-${i}`);
    await writeFile(path, '');
    const res = await httpGet(url, {}, { timeoutMs: 5000, pool });
    await res.saveBody(path, 0, () => {});
    assert.ok(expected.equals(await readFile(path)), `body ${i} differs`);
  }
  assert.equal(connections(), 1);
});

it('Body bytes that came with the head stay exact when the read buffer starts over right after them.', async (t) => {
  const { randomBytes } = await import('node:crypto');
  const { ConnectionPool } = await import('../../dist/cli/download/connection.js');
  // Small answers, each one read with its head, move the connection's 256 KiB buffer on, so that
  // the big answer's head and first bytes fill it to within 64 KiB of its end: the next read
  // starts over at its beginning, where those first bytes must no longer be needed.
  const small = Array.from({ length: 12 }, () => randomBytes(14_000));
  const big = randomBytes(1024 * 1024);
  const headOf = (n: number) => `HTTP/1.1 200 OK\r\nContent-Length: ${n}\r\n\r\n`;
  const used = small.reduce((sum, b) => sum + headOf(b.length).length + b.length, 0);
  const early = 256 * 1024 - 64 * 1024 + 100 - used - headOf(big.length).length;
  assert.ok(early > 0 && early < 64 * 1024 - 200, `early ${early}`);
  const { url, connections } = await keptAliveServer(t, (socket, i) => {
    if (i < small.length) return void socket.write(Buffer.concat([Buffer.from(headOf(small[i]!.length)), small[i]!]));
    socket.write(Buffer.concat([Buffer.from(headOf(big.length)), big.subarray(0, early)]));
    // The rest at once, so that it waits in the socket for one long read.
    setTimeout(() => socket.write(big.subarray(early)), 30);
  });
  const pool = new ConnectionPool();
  for (const [i, expected] of small.entries()) {
    const res = await httpGet(url, {}, { timeoutMs: 5000, pool });
    const body = await res.readSmall(256 * 1024);
    assert.ok(body && expected.equals(body), `small body ${i} differs`);
  }
  const res = await httpGet(url, {}, { timeoutMs: 5000, pool });
  await sleep(100); // The rest of the body is in the socket by now.
  const path = join(await tempDir(t), 'big');
  await writeFile(path, '');
  await res.saveBody(path, 0, () => {});
  assert.ok(big.equals(await readFile(path)), 'the big body differs');
  assert.equal(connections(), 1);
});

it('A kept-alive connection times out a quiet answer after --timeout, not after its idle time in the pool; holding the head is not silence.', async (t) => {
  const { ConnectionPool } = await import('../../dist/cli/download/connection.js');
  const { url } = await keptAliveServer(t, (socket, i) => {
    // The first answer whole; the second only its head and one byte, then nothing.
    if (i === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nx');
  });
  const pool = new ConnectionPool();
  const first = await httpGet(url, {}, { timeoutMs: 150, pool });
  // Held past the time-out before the body is read: the limit counts from read().
  await sleep(400);
  assert.equal((await first.readSmall(1024))?.toString(), 'ok');
  const second = await httpGet(url, {}, { timeoutMs: 150, pool });
  const started = performance.now();
  await assert.rejects(second.readSmall(1024), { code: 'TK_DL_TIMEOUT', transient: true });
  const took = performance.now() - started;
  assert.ok(took >= 140 && took < 2000, `timed out after ${Math.round(took)} ms`);
});
