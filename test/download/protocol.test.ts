// How the HTTP/1.1 client reads answers that a well-behaved server never gives (a black-box
// fault run, issue 13): bytes on an idle kept-alive connection, bytes after a chunked body, a
// head with bare LF line ends, endless 1xx answers, a Location in raw UTF-8, and servers that
// do not speak HTTP/1.x at all. Each case was checked to fail without its fix.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionPool } from '../../dist/cli/download/connection.js';
import { getFollowingRedirects } from '../../dist/cli/download/follow-redirects.js';
import { httpGet } from '../../dist/cli/download/http-get.js';
import { tempDir } from './helpers.ts';
import { rawServer, type RawServer } from './raw-server.ts';

/** A whole answer of `body` that keeps the connection open. */
function answer(body: string | Buffer): Buffer {
  const bytes = Buffer.from(body);
  return Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${bytes.length}\r\n\r\n`), bytes]);
}

/**
 * A raw server that answers every request on a connection, not only the first: `reply(socket,
 * connection, i)` answers the i-th request (0 first) of the connection-th connection (1 first).
 */
async function keptAlive(t: TestContext, reply: (socket: Socket, connection: number, i: number) => void): Promise<RawServer> {
  return rawServer(t, (req, socket) => {
    let i = 0;
    reply(socket, req.n, i++);
    socket.on('data', (chunk: Buffer) => {
      for (let at = chunk.indexOf('\r\n\r\n'); at >= 0; at = chunk.indexOf('\r\n\r\n', at + 4)) reply(socket, req.n, i++);
    });
  });
}

async function getSmall(url: string, pool?: ConnectionPool, timeoutMs = 5000): Promise<string | undefined> {
  const res = await httpGet(new URL(url), {}, { timeoutMs, ...(pool && { pool }) });
  return (await res.readSmall(1 << 20))?.toString('latin1');
}

async function saveTo(t: TestContext, url: string, pool?: ConnectionPool): Promise<Buffer> {
  const path = join(await tempDir(t), 'body');
  await writeFile(path, '');
  const res = await httpGet(new URL(url), {}, { timeoutMs: 5000, ...(pool && { pool }) });
  await res.saveBody(path, 0, () => {});
  return readFile(path);
}

it('An answer a server writes onto an idle kept-alive connection is never taken for the next request’s: that connection is dropped, the next goes on a fresh one.', async (t) => {
  const server = await rawServer(t, (req, socket) => {
    socket.write(answer(`real ${req.path}`));
    if (req.n === 1) setTimeout(() => socket.write(answer('E'.repeat(1000))), 50);
  });
  const pool = new ConnectionPool();
  assert.equal(await getSmall(server.url('/a.bin'), pool), 'real /a.bin');
  await sleep(250); // The unasked answer has come meanwhile.
  assert.equal(await getSmall(server.url('/c.bin'), pool), 'real /c.bin');
  assert.equal(server.requests.length, 2, 'c.bin went on a fresh connection');
});

it('Bytes after the last chunk (and the trailers) of a chunked body end the connection: the next request goes on a fresh one.', async (t) => {
  const server = await keptAlive(t, (socket, connection, i) => {
    if (connection === 1 && i === 0) socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\nXYZ');
    else socket.write(answer(`answer ${i} of connection ${connection}`));
  });
  const pool = new ConnectionPool();
  assert.equal((await saveTo(t, server.url('/a.bin'), pool)).toString(), 'hello');
  assert.equal(await getSmall(server.url('/b.bin'), pool), 'answer 0 of connection 2');
});

it('A reused connection whose answer does not start as HTTP is taken for a stale one: the request is sent again on a fresh connection.', async (t) => {
  for (const garbage of ['SSH-2.0-OpenSSH_9.2\r\n', 'X'.repeat(70_000)]) {
    const server = await keptAlive(t, (socket, connection, i) => {
      if (connection === 1 && i === 1) socket.write(garbage);
      else socket.write(answer(`answer ${i} of connection ${connection}`));
    });
    const pool = new ConnectionPool();
    assert.equal(await getSmall(server.url('/a.bin'), pool), 'answer 0 of connection 1');
    assert.equal(await getSmall(server.url('/b.bin'), pool), 'answer 0 of connection 2', garbage.slice(0, 20));
  }
});

it('A head whose lines end in a bare LF (RFC 9112 §2.2) is read, ending at its first empty line, however its lines end.', async (t) => {
  const heads = [
    'HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 10\n\n',
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\nContent-Length: 10\n\r\n',
    'HTTP/1.1 200 OK\nContent-Type: text/plain\r\nContent-Length: 10\r\n\n',
  ];
  const server = await rawServer(t, (req, socket) => {
    // The body holds a CRLF CRLF: the head ends at the first empty line, not there.
    socket.end(`${heads[req.n - 1]}ab\r\n\r\ncdef`);
  });
  for (const h of heads) {
    const res = await httpGet(new URL(server.url('/f')), {}, { timeoutMs: 5000 });
    assert.equal(res.status, 200, JSON.stringify(h));
    assert.equal(res.statusMessage, 'OK');
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.equal((await res.readSmall(1024))?.toString(), 'ab\r\n\r\ncdef');
  }
});

it('Up to 32 informational (1xx) answers before the answer are read past; a 33rd fails at once as the server’s fault.', async (t) => {
  const server = await rawServer(t, (req, socket) => {
    socket.write('HTTP/1.1 102 Processing\r\n\r\n'.repeat(req.path === '/32' ? 32 : 33));
    socket.end(answer('the answer'));
  });
  assert.equal(await getSmall(server.url('/32')), 'the answer');
  await assert.rejects(getSmall(server.url('/33')), {
    code: 'TK_DL_PROTOCOL',
    transient: false,
    message: /^127\.0\.0\.1:\d+ sent more than 32 informational \(1xx\) answers/,
  });
});

it('A Location in raw UTF-8 bytes is read as UTF-8 (requested as %C3%BC…, not double-encoded); one that is not UTF-8 stays Latin-1.', async (t) => {
  const server = await rawServer(t, (req, socket) => {
    if (req.path === '/utf8' || req.path === '/latin1') {
      const location = req.path === '/utf8' ? Buffer.from('/ünï.bin', 'utf8') : Buffer.from('/ünï.bin', 'latin1');
      socket.end(Buffer.concat([Buffer.from('HTTP/1.1 302 Found\r\nContent-Length: 0\r\nLocation: '), location, Buffer.from('\r\n\r\n')]));
    } else socket.end(answer(req.path));
  });
  for (const [path, requested] of [
    ['/utf8', '/%C3%BCn%C3%AF.bin'],
    ['/latin1', '/%C3%BCn%C3%AF.bin'],
  ] as const) {
    const url = server.url(path);
    const { res, finalUrl } = await getFollowingRedirects(new URL(url), {}, { timeoutMs: 5000, maxRedirects: 5, asked: url });
    assert.equal((await res.readSmall(1024))?.toString(), requested, path);
    assert.equal(finalUrl.pathname, requested);
  }
  assert.deepEqual(
    server.requests.map((r) => r.path),
    ['/utf8', '/%C3%BCn%C3%AF.bin', '/latin1', '/%C3%BCn%C3%AF.bin'],
  );
});

it('A server that sends something other than HTTP at once fails at once, quoting what it sent, not after --timeout.', async (t) => {
  const server = await rawServer(t, (req, socket) => {
    if (req.path === '/ssh')
      socket.write('SSH-2.0-OpenSSH_9.2\r\n'); // and keeps the connection open
    else socket.end('hello world\tthis is `not` http\x01\n');
  });
  const started = performance.now();
  await assert.rejects(getSmall(server.url('/ssh'), undefined, 3000), {
    code: 'TK_DL_NETWORK',
    message: /^127\.0\.0\.1:\d+ did not answer with HTTP\/1\.x \(it sent `SSH-2\.0-OpenSSH_9\.2\\r\\n`\)$/,
  });
  assert.ok(performance.now() - started < 1500, `failed after ${Math.round(performance.now() - started)} ms`);
  await assert.rejects(getSmall(server.url('/hello')), {
    message: /^127\.0\.0\.1:\d+ did not answer with HTTP\/1\.x \(it sent `hello world\\tthis is \\x60not\\x60 http\\x01\\n`\)$/,
  });
});

it('A head cut short by a close quotes what came of it.', async (t) => {
  const server = await rawServer(t, (_req, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Len'));
  await assert.rejects(getSmall(server.url('/f')), {
    code: 'TK_DL_NETWORK',
    transient: true,
    message: /^127\.0\.0\.1:\d+ closed the connection before the head of its answer was complete \(it sent `HTTP\/1\.1 200 OK\\r\\nContent-Len`\)$/,
  });
});

it('A status line of another HTTP version, or in lower case, fails as the server’s fault, quoting it.', async (t) => {
  const lines = ['HTTP/1.2 200 OK', 'http/1.1 200 OK', 'HTTP/2 200'];
  const server = await rawServer(t, (req, socket) => socket.end(`${lines[req.n - 1]}\r\nContent-Length: 5\r\n\r\nhello`));
  for (const line of lines) {
    await assert.rejects(getSmall(server.url('/f')), {
      code: 'TK_DL_PROTOCOL',
      transient: false,
      message: new RegExp(`^127\\.0\\.0\\.1:\\d+ answered with a status line this client cannot read \\(\`${line.replace(/\./g, '\\.')}\`\\)`),
    });
  }
});

it('A connection reset in the middle of a body says so, with how much of the body came, naming the host.', async (t) => {
  const server = await rawServer(t, (req, socket) => {
    const length = req.path === '/length' ? { 'Content-Length': '1000000' } : {};
    socket.write(`HTTP/1.1 200 OK\r\n${Object.entries(length).map(([k, v]) => `${k}: ${v}\r\n`)}\r\n`);
    socket.write(Buffer.alloc(300_000, 'a'), () => setTimeout(() => socket.resetAndDestroy(), 50));
  });
  const dir = await tempDir(t);
  for (const [path, message] of [
    ['/length', /^the connection to 127\.0\.0\.1:\d+ was reset after 300000 of 1000000 bytes of the body \(ECONNRESET\)$/],
    ['/close', /^the connection to 127\.0\.0\.1:\d+ was reset after 300000 bytes of the body \(ECONNRESET\)$/],
  ] as const) {
    const file = join(dir, path.slice(1));
    await writeFile(file, '');
    const res = await httpGet(new URL(server.url(path)), {}, { timeoutMs: 5000 });
    await assert.rejects(
      res.saveBody(file, 0, () => {}),
      { code: 'TK_DL_NETWORK', transient: true, message },
    );
    assert.equal((await readFile(file)).length, 300_000);
  }
});

it('A framing header with whitespace before its colon fails as the server’s fault; a folded line continues the field before it.', async (t) => {
  const server = await rawServer(t, (req, socket) => {
    if (req.path === '/space-colon') socket.end(`HTTP/1.1 200 OK\r\nContent-Length : 5\r\nConnection: close\r\n\r\n${'x'.repeat(300)}`);
    else if (req.path === '/space-other') socket.end('HTTP/1.1 200 OK\r\nX-Odd : 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    else if (req.path === '/fold-length') socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n 00\r\nConnection: close\r\n\r\n${'x'.repeat(300)}`);
    else socket.end('HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
  });
  await assert.rejects(getSmall(server.url('/space-colon')), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TK_DL_PROTOCOL');
    assert.match(err.message, /malformed header line \(`Content-Length : 5`: whitespace before the colon\)/);
    return true;
  });
  assert.equal(await getSmall(server.url('/space-other')), 'ok', 'a malformed line that frames nothing is ignored');
  // `1000 00` is no byte count: the end cannot be told.
  await assert.rejects(getSmall(server.url('/fold-length')), { code: 'TK_DL_PROTOCOL' });
  const res = await httpGet(new URL(server.url('/fold-other')), {}, { timeoutMs: 5000 });
  assert.equal(res.headers['x-long'], 'a b');
  res.destroy();
});
