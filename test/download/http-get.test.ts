import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGet } from '../../dist/cli/download/http-get.js';
import { tempDir } from './helpers.ts';

/** A raw TCP server that answers every connection with `answer(socket)`. */
async function rawServer(t: TestContext, answer: (socket: Socket) => Promise<void>): Promise<URL> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', () => void answer(socket).catch(() => socket.destroy()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/file`);
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

test('A chunked body is decoded exactly, whatever the read boundaries.', async (t) => {
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

test('A body without length ends at the close; a head split over reads and a 100 Continue before it are handled.', async (t) => {
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

test('A body cut short of its Content-Length rejects after writing every byte received.', async (t) => {
  const url = await rawServer(t, async (s) => {
    s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
  });
  const dir = await tempDir(t);
  const path = join(dir, 'body');
  await writeFile(path, 'PREFIX');
  const res = await httpGet(url, {}, { timeoutMs: 5000 });
  await assert.rejects(
    res.saveBody(path, 6, () => {}),
    { code: 'TK_DL_NETWORK', transient: true, message: /closed after 10 bytes/ },
  );
  assert.equal((await readFile(path)).toString(), 'PREFIX0123456789');
});

test('A server that goes quiet fails the request with a time-out error.', async (t) => {
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
