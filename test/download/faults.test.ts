// Answers that broke the "never a truncated or spliced file reported as success" rule in a
// black-box fault run (issue 12): each served by the bare server of raw-server.ts, each
// checked to fail without its fix.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { it } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { BIN, exists, runCli, serve, sha256, startCli, tempDir, waitFor } from './helpers.ts';
import { answerWhole, head, rawServer, rangeStart } from './raw-server.ts';

const SIZE = 1_500_000;
const v1 = deterministicContent('faults-v1', SIZE);
const v2 = deterministicContent('faults-v2', SIZE);
const FAST = ['--retry-wait', '0.01'];

/** A body with no Content-Length and no chunked encoding: it runs until the connection closes. */
function closeDelimited(socket: Socket, fields: Record<string, string> = {}): void {
  socket.write(head('200 OK', { etag: '"v1"', ...fields, connection: 'close' }));
}

for (const [how, cut] of [
  ['reset', 'reset'],
  ['stalled past --timeout', 'stall'],
] as const) {
  it(`A body with no length whose connection is ${how} midway is a failed try, not a whole file: the retry resumes it byte-exact.`, async (t) => {
    const server = await rawServer(t, (req, socket) => {
      if (req.n > 1) return answerWhole(socket, req, v1, { etag: '"v1"' });
      closeDelimited(socket);
      socket.write(v1.subarray(0, 600_000), () => {
        if (cut === 'reset') socket.resetAndDestroy();
      });
    });
    const dir = await tempDir(t);
    const r = await runCli([server.url('/f.bin'), '-o', dir, ...FAST, '--timeout', '0.5']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(v1), 'the whole file, not the part before the cut');
    assert.equal(server.requests.length, 2, 'the cut was retried');
    assert.match(server.requests[1]!.range ?? '', /^bytes=\d+-$/, 'from where the .part ends');
  });
}

it('Ctrl-C during a body with no length keeps the .part (exit 130), and -c then finishes it byte-exact.', async (t) => {
  const server = await rawServer(t, (req, socket) => {
    if (req.n > 1) return answerWhole(socket, req, v1, { etag: '"v1"' });
    closeDelimited(socket);
    socket.write(v1.subarray(0, 400_000)); // then nothing more, until Ctrl-C
  });
  const dir = await tempDir(t);
  const run = startCli([server.url('/f.bin'), '-o', dir, '--plain']);
  await waitFor('bytes in the .part', async () => ((await stat(join(dir, 'f.bin.part')).catch(() => undefined))?.size ?? 0) > 0);
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.equal(r.code, 130, r.stderr);
  assert.equal(await exists(join(dir, 'f.bin')), false, 'no file under the final name');
  assert.ok(await exists(join(dir, 'f.bin.part')), 'the .part is kept for -c');
  const again = await runCli(['-c', server.url('/f.bin'), '-o', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(v1));
});

it('A server with only a weak ETag that changes the file but keeps the ETag is never spliced: the retry starts from zero, saying why.', async (t) => {
  const server = await rawServer(t, (req, socket) => {
    const content = req.n === 1 ? v1 : v2;
    if (req.n > 1) return answerWhole(socket, req, content, { etag: 'W/"same"' });
    socket.write(head('200 OK', { etag: 'W/"same"', 'content-length': SIZE, connection: 'close' }));
    socket.write(content.subarray(0, 500_000), () => socket.destroy());
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/f.bin'), '-o', dir, ...FAST]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(v2), 'the new version, whole');
  assert.match(r.stderr, /only a weak ETag \(W\/"same"\) and no Last-Modified, which cannot prove the bytes are the same; restarting from zero/);
  assert.equal(server.requests[1]!.range, undefined, 'no Range: nothing can hold a resume to the same bytes');
});

for (const [what, fields] of [
  ['no validators', {}],
  ['the first answer’s validators', { etag: '"v1"' }],
] as const) {
  it(`A 416 whose total is the .part's size but not the size the first answer gave (with ${what}) restarts the file instead of keeping the .part as it.`, async (t) => {
    const server = await rawServer(t, (req, socket) => {
      if (req.n === 1) {
        socket.write(head('200 OK', { etag: '"v1"', 'content-length': SIZE, connection: 'close' }));
        return void socket.write(v1.subarray(0, 700_000), () => socket.destroy());
      }
      if (req.range) {
        socket.write(head('416 Range Not Satisfiable', { ...fields, 'content-range': `bytes */${rangeStart(req)}`, 'content-length': 0, connection: 'close' }));
        return void socket.end();
      }
      answerWhole(socket, req, v1, { etag: '"v1"' });
    });
    const dir = await tempDir(t);
    const r = await runCli([server.url('/f.bin'), '-o', dir, ...FAST]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(v1), 'the whole file');
    assert.match(r.stderr, new RegExp(`its size changed from ${SIZE} to 700000 bytes; restarting from zero`));
  });
}

it('A 206 whose Content-Range total is `*` is held to the size of the first answer: a short one is resumed again, not kept as the file.', async (t) => {
  const server = await rawServer(t, (req, socket) => {
    if (req.n === 1) {
      socket.write(head('200 OK', { etag: '"v1"', 'content-length': SIZE, connection: 'close' }));
      return void socket.write(v1.subarray(0, 500_000), () => socket.destroy());
    }
    const start = rangeStart(req);
    if (req.n === 2) {
      const end = start + 9_999;
      socket.write(head('206 Partial Content', { etag: '"v1"', 'content-range': `bytes ${start}-${end}/*`, 'content-length': 10_000, connection: 'close' }));
      return void socket.end(v1.subarray(start, end + 1));
    }
    answerWhole(socket, req, v1, { etag: '"v1"' });
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/f.bin'), '-o', dir, ...FAST]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(v1), 'the whole file');
  assert.deepEqual(
    server.requests.map((q) => q.range),
    [undefined, 'bytes=500000-', 'bytes=510000-'],
  );
});

it('Content-Length given twice with the same count is that count; counts that differ fail at once as the server’s fault, without retries.', async (t) => {
  const server = await rawServer(t, (req, socket) => {
    const counts = req.path === '/twice.bin' ? [SIZE, SIZE] : [SIZE, SIZE + 1];
    socket.write(head('200 OK', { etag: '"v1"', 'content-length': counts, connection: 'close' }));
    socket.end(v1);
  });
  const dir = await tempDir(t);
  const twice = await runCli([server.url('/twice.bin'), '-o', dir]);
  assert.equal(twice.code, 0, twice.stderr);
  assert.equal(sha256(await readFile(join(dir, 'twice.bin'))), sha256(v1));
  const before = server.requests.length;
  const differ = await runCli([server.url('/differ.bin'), '-o', dir]);
  assert.equal(differ.code, 1, differ.stderr);
  assert.match(differ.stderr, /invalid Content-Length \(1500000, 1500001\).*\[TK_DL_PROTOCOL\]/);
  assert.equal(server.requests.length - before, 1, 'not retried');
  assert.deepEqual((await readdir(dir)).sort(), ['twice.bin'], 'nothing else left behind');
});

for (const mode of ['--plain', '--ndjson']) {
  it(`A reader of stdout that goes away (| head -1, with ${mode}) stops the output, not the download: no stack trace, the file whole, exit 0.`, async (t) => {
    const server = await serve(t, { files: [{ path: '/f.bin', content: v1, seconds: 0.6 }] });
    const dir = await tempDir(t);
    const run = startCli([server.url('/f.bin'), '-o', dir, mode]);
    run.child.stdout!.once('data', () => run.child.stdout!.destroy());
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /);
    assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(v1));
    assert.deepEqual(await readdir(dir), ['f.bin'], 'nothing else left behind');
  });
}

it('A name as long as a name may be is saved as it, small file or large: the temporary file of a small one fits in 255 bytes too.', async (t) => {
  const long = 'L'.repeat(300); // cut to 245 bytes, leaving room for `.part.meta`
  const small = deterministicContent('small', 3000);
  const server = await serve(t, {
    files: [
      { path: `/s/${long}`, content: small },
      { path: `/b/${long}.bin`, content: v1 },
    ],
  });
  for (const [path, content] of [
    [`/s/${long}`, small],
    [`/b/${long}.bin`, v1],
  ] as const) {
    const dir = await tempDir(t);
    const r = await runCli([server.url(path), '-o', dir]);
    assert.equal(r.code, 0, r.stderr);
    const names = await readdir(dir);
    assert.equal(names.length, 1, `one file, nothing left beside it: ${names.map((n) => n.length)}`);
    assert.ok(Buffer.byteLength(names[0]!) <= 245);
    assert.equal(sha256(await readFile(join(dir, names[0]!))), sha256(content));
  }
});

it('A redirect to a Location that is not a URL fails as a redirect error, naming it, without retries.', async (t) => {
  const server = await rawServer(t, (_req, socket) => {
    socket.end(head('302 Found', { location: 'http://[::1/x', 'content-length': 0, connection: 'close' }));
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/f.bin'), '-o', dir]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /redirected \(302\) to 'http:\/\/\[::1\/x', which is not a URL; the server is at fault \[TK_DL_REDIRECT\]/);
  assert.equal(server.requests.length, 1);
});

it('A 206 to every request for the whole file fails as the server’s fault, without blaming -c (which was not given).', async (t) => {
  const server = await rawServer(t, (_req, socket) => {
    socket.write(head('206 Partial Content', { etag: '"v1"', 'content-range': `bytes 0-999/${SIZE}`, 'content-length': 1000, connection: 'close' }));
    socket.end(v1.subarray(0, 1000));
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/f.bin'), '-o', dir]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /answered a request for the whole file with a part of it \(206, bytes 0-999\/1500000\); the server is at fault \[TK_DL_RANGE\]/);
  assert.doesNotMatch(r.stderr, /-c|restarting/);
  assert.equal(server.requests.length, 1, 'not asked again: the same request gets the same part');
  assert.deepEqual(await readdir(dir), [], 'nothing left behind');
});

it('Output that cannot be written (stdout on /dev/full) stops the output, not the download: the file whole, exit 0.', {
  skip: !existsSync('/dev/full') && 'needs /dev/full (Linux)',
}, async (t) => {
  const server = await serve(t, { files: [{ path: '/f.bin', content: v1 }] });
  const dir = await tempDir(t);
  const full = openSync('/dev/full', 'w');
  t.after(() => closeSync(full));
  const child = spawn(process.execPath, [BIN, 'download', server.url('/f.bin'), '-o', dir, '--plain'], { stdio: ['ignore', full, 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /ENOSPC|\n\s+at /);
  assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(v1));
  assert.deepEqual(await readdir(dir), ['f.bin'], 'nothing else left behind');
});

it('A server that answers each Range with a shorter range than asked is asked for the rest until the file is whole, with no retry counted.', async (t) => {
  const CAP = 200_000;
  const server = await rawServer(t, (req, socket) => {
    const start = rangeStart(req);
    if (req.n === 1) {
      socket.write(head('200 OK', { etag: '"v1"', 'content-length': SIZE, connection: 'close' }));
      socket.write(v1.subarray(0, CAP), () => socket.destroy());
      return;
    }
    const end = Math.min(start + CAP, SIZE) - 1;
    socket.write(
      head('206 Partial Content', { etag: '"v1"', 'content-range': `bytes ${start}-${end}/${SIZE}`, 'content-length': end - start + 1, connection: 'close' }),
    );
    socket.end(v1.subarray(start, end + 1));
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/f.bin'), '-o', dir, ...FAST, '--retries', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(v1), 'the whole file');
  assert.equal(server.requests.length, Math.ceil(SIZE / CAP), 'one request per range the server would give');
  for (const [i, req] of server.requests.slice(1).entries()) assert.equal(rangeStart(req), (i + 1) * CAP, 'each from where the last range ended');
  const [result] = JSON.parse(r.stdout).files;
  assert.equal(result.attempts, 2, 'the cut of the first answer is the one retry; the short ranges are not tries');
});

/** `content` as chunks of `size` bytes; `lie(i)` may change what chunk i's size line says. */
function chunked(content: Buffer, size: number, lie: (i: number, real: number) => number = (_i, real) => real): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0, at = 0; at < content.length; i++, at += size) {
    const piece = content.subarray(at, at + size);
    parts.push(Buffer.from(`${lie(i, piece.length).toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

for (const [how, lie] of [
  ['smaller', (i: number, real: number) => (i === 2 ? real - 4 : real)],
  ['larger', (i: number, real: number) => (i === 2 ? real + 50 : real)],
] as const) {
  it(`A chunk whose size line is ${how} than its data fails the file as the server's fault, keeps only the whole chunks before it, and -c then finishes it byte-exact.`, async (t) => {
    const CHUNK = 100_000;
    let broken = true;
    const server = await rawServer(t, (req, socket) => {
      if (!broken) return answerWhole(socket, req, v1, { etag: '"v1"', 'last-modified': 'Tue, 01 Dec 2026 00:00:00 GMT' });
      socket.write(head('200 OK', { etag: '"v1"', 'last-modified': 'Tue, 01 Dec 2026 00:00:00 GMT', 'transfer-encoding': 'chunked', connection: 'close' }));
      socket.end(chunked(v1, CHUNK, lie));
    });
    const dir = await tempDir(t);
    const r = await runCli([server.url('/f.bin'), '-o', dir, ...FAST]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout + r.stderr, /malformed chunked body .*; the server is at fault \[TK_DL_PROTOCOL\]/);
    assert.equal(server.requests.length, 1, 'not retried');
    assert.equal(await exists(join(dir, 'f.bin')), false, 'nothing under the final name');
    const kept = await readFile(join(dir, 'f.bin.part'));
    assert.equal(kept.length, 2 * CHUNK, 'the .part ends with the last chunk that ended where its size said');
    assert.ok(kept.equals(v1.subarray(0, kept.length)), 'and holds only the server’s bytes');
    broken = false;
    const again = await runCli(['-c', server.url('/f.bin'), '-o', dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(v1));
  });
}

it('Transfer-Encoding other than chunked alone fails as the server’s fault; chunked with a Content-Length is read as chunked; a 101 fails at once.', async (t) => {
  const body = v1.subarray(0, 5000);
  const server = await rawServer(t, (req, socket) => {
    if (req.path === '/gzip.bin') {
      socket.write(head('200 OK', { 'transfer-encoding': 'gzip, chunked', connection: 'close' }));
      socket.end(chunked(body, 1000));
    } else if (req.path === '/both.bin') {
      socket.write(head('200 OK', { 'transfer-encoding': 'chunked', 'content-length': 3, connection: 'close' }));
      socket.end(chunked(body, 1000));
    } else {
      socket.write(head('101 Switching Protocols', { upgrade: 'websocket', connection: 'upgrade' })); // then nothing
    }
  });
  const dir = await tempDir(t);
  const started = performance.now();
  const r = await runCli([server.url('/gzip.bin'), server.url('/both.bin'), server.url('/ws.bin'), '-o', dir, '--json', ...FAST, '--timeout', '30']);
  assert.ok(performance.now() - started < 20_000, 'the 101 did not wait for the 30 s time-out');
  assert.equal(r.code, 1, r.stderr);
  const [gzip, both, ws] = JSON.parse(r.stdout).files;
  assert.equal(gzip.status, 'failed');
  assert.equal(gzip.error.code, 'TK_DL_PROTOCOL');
  assert.match(gzip.error.message, /Transfer-Encoding: gzip, chunked, which this client does not decode/);
  assert.equal(both.status, 'done');
  assert.deepEqual(await readFile(join(dir, 'both.bin')), body);
  assert.equal(ws.status, 'failed');
  assert.equal(ws.error.code, 'TK_DL_PROTOCOL');
  assert.match(ws.error.message, /101 Switching Protocols/);
  assert.equal(server.requests.filter((q) => q.path === '/ws.bin').length, 1, 'not retried');
});

it('A .part left by an interrupted run goes when -c finds the file now small and saves it whole: no stale .part beside the file.', async (t) => {
  const small = deterministicContent('faults-small', 1000);
  const server = await rawServer(t, (req, socket) => {
    if (req.n === 1) {
      socket.write(head('200 OK', { etag: '"v1"', 'content-length': SIZE, connection: 'close' }));
      socket.write(v1.subarray(0, 400_000)); // then nothing, until Ctrl-C
      return;
    }
    answerWhole(socket, { ...req, range: undefined }, small, { etag: '"v2"' }); // the file changed: a 200 of the new one
  });
  const dir = await tempDir(t);
  const run = startCli([server.url('/f.bin'), '-o', dir, '--plain']);
  await waitFor('bytes in the .part', async () => ((await stat(join(dir, 'f.bin.part')).catch(() => undefined))?.size ?? 0) > 0);
  run.child.kill('SIGINT');
  assert.equal((await run.done).code, 130);
  const again = await runCli(['-c', server.url('/f.bin'), '-o', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await readFile(join(dir, 'f.bin')), small);
  assert.deepEqual((await readdir(dir)).sort(), ['f.bin'], 'no .part, .part.meta or .part.lock left');
});

it('A server that ignores Range and drops every answer at the same point runs out of --retries: a try that gets no further is no progress.', async (t) => {
  const server = await rawServer(t, (_req, socket) => {
    socket.write(head('200 OK', { etag: '"v1"', 'content-length': SIZE, connection: 'close' }));
    socket.write(v1.subarray(0, 500_000), () => socket.destroy());
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/f.bin'), '-o', dir, ...FAST, '--retries', '2', '--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(server.requests.length, 3, 'the first try and 2 retries');
  const [result] = JSON.parse(r.stdout).files;
  assert.equal(result.attempts, 3);
  assert.equal(result.error.code, 'TK_DL_NETWORK');
});

it('A head that trickles in a byte at a time fails its try after --timeout, as silence does: it never holds the run for good.', async (t) => {
  const server = await rawServer(t, (_req, socket) => {
    socket.write('HTTP/1.1 200 OK\r\n');
    const timer = setInterval(() => socket.write('x'), 50); // a header name that never ends
    socket.on('close', () => clearInterval(timer));
  });
  const dir = await tempDir(t);
  const started = performance.now();
  const r = await runCli([server.url('/slow-head'), '-o', dir, '--timeout', '0.5', '--retries', '0', '--json']);
  const elapsed = performance.now() - started;
  assert.equal(r.code, 1, r.stderr);
  const failed = JSON.parse(r.stdout).files[0];
  assert.equal(failed.error.code, 'TK_DL_TIMEOUT');
  assert.match(failed.error.message, /did not send the whole head of its answer within 0\.5 s \(--timeout\)/);
  assert.ok(elapsed >= 500 && elapsed < 10_000, `${elapsed} ms`);
  assert.deepEqual(await readdir(dir), []);
});

it('Text a server chose (a reason phrase, a Location, a header) never reaches the terminal with its escape sequences: they are printed as \\xNN.', async (t) => {
  const ESC = '\x1b]0;PWNED\x07\x1b[31mRED\x1b[0m';
  const server = await rawServer(t, (req, socket) => {
    if (req.path === '/reason') socket.end(`HTTP/1.1 404 Not ${ESC}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`, 'latin1');
    else if (req.path === '/location') socket.end(`HTTP/1.1 302 Found\r\nLocation: ftp://${ESC}/x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`, 'latin1');
    else socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 1${ESC}\r\nConnection: close\r\n\r\nx`, 'latin1');
  });
  const dir = await tempDir(t);
  for (const flags of [['--plain'], ['-q']]) {
    const r = await runCli([server.url('/reason'), server.url('/location'), server.url('/cl'), '-o', dir, '--retries', '0', ...flags]);
    assert.equal(r.code, 1, r.stderr);
    const printed = r.stdout + r.stderr;
    assert.doesNotMatch(printed, /[\x00-\x08\x0b-\x1f\x7f]/, `${flags}: ${JSON.stringify(printed)}`);
    assert.match(printed, /\\x1b\]0;PWNED\\x07\\x1b\[31mRED/, `${flags}: the text is shown, escaped`);
  }
});

it('A 206 of `bytes */N` (no range at all) to a resume restarts the file, saying what came.', async (t) => {
  const server = await rawServer(t, (req, socket) => {
    if (req.range === undefined) {
      socket.write(head('200 OK', { etag: '"v1"', 'content-length': SIZE, connection: 'close' }));
      socket.end(v1.subarray(0, SIZE / 2)); // cut: the retry asks for the rest
    } else if (req.n === 2) {
      socket.end(head('206 Partial Content', { etag: '"v1"', 'content-range': `bytes */${SIZE}`, 'content-length': 0, connection: 'close' }));
    } else answerWhole(socket, req, v1, { etag: '"v1"' });
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/star.bin'), '-o', dir, ...FAST]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /the server answered bytes \*\/1500000 \(no range at all\) to a request for bytes 750000-; restarting from zero/);
  assert.equal(sha256(await readFile(join(dir, 'star.bin'))), sha256(v1));
});
