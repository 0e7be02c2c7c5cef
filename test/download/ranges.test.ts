// 206 answers that do not fit the request: a 206 of the whole file to a plain GET is the whole
// file (curl, wget2 and aria2c save it; it used to fail as TK_DL_RANGE), and a 206 whose
// Content-Length disagrees with its Content-Range is not written as if the two agreed.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { runCli, sha256, tempDir } from './helpers.ts';
import { answerWhole, head, rawServer, rangeStart } from './raw-server.ts';

const SIZE = 1_500_000;
const body = deterministicContent('ranges', SIZE);
const FAST = ['--retry-wait', '0.01'];

for (const size of [100_000, SIZE]) {
  it(`A 206 of the whole file (bytes 0-${size - 1}/${size}) to a request without Range is saved as the file.`, async (t) => {
    const content = body.subarray(0, size);
    const server = await rawServer(t, (_req, socket) => {
      socket.write(head('206 Partial Content', { 'content-range': `bytes 0-${size - 1}/${size}`, 'content-length': size, etag: '"r"', connection: 'close' }));
      socket.end(content);
    });
    const dir = await tempDir(t);
    const r = await runCli([server.url('/w.bin'), '-o', dir, ...FAST]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(await readFile(join(dir, 'w.bin'))), sha256(content));
    assert.equal(server.requests.length, 1);
  });
}

it("A 206 of only part of the file to a request without Range still fails as the server's fault.", async (t) => {
  const server = await rawServer(t, (_req, socket) => {
    socket.write(head('206 Partial Content', { 'content-range': `bytes 0-999/${SIZE}`, 'content-length': 1000, connection: 'close' }));
    socket.end(body.subarray(0, 1000));
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/p.bin'), '-o', dir, ...FAST]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /answered a request for the whole file with a part of it .*\[TK_DL_RANGE\]/);
  assert.deepEqual(await readdir(dir), []);
});

for (const [how, extra] of [
  ['longer', 10],
  ['shorter', -10],
] as const) {
  it(`A resume answered by a 206 whose Content-Length is ${how} than its Content-Range restarts from zero, saying why; the file ends byte-exact.`, async (t) => {
    const server = await rawServer(t, (req, socket) => {
      const start = rangeStart(req);
      if (req.n === 1) {
        // The first answer drops midway, so that the retry asks for the rest.
        socket.write(head('200 OK', { 'content-length': SIZE, etag: '"r"' }));
        socket.write(body.subarray(0, 500_000), () => socket.resetAndDestroy());
        return;
      }
      if (start > 0) {
        const span = SIZE - start;
        socket.write(head('206 Partial Content', { 'content-range': `bytes ${start}-${SIZE - 1}/${SIZE}`, 'content-length': span + extra, etag: '"r"' }));
        // As many bytes as the length says, and the connection kept: nothing but the length tells where the answer ends.
        socket.write(extra > 0 ? Buffer.concat([body.subarray(start), Buffer.alloc(extra, 0x45)]) : body.subarray(start, SIZE + extra));
        return;
      }
      answerWhole(socket, req, body, { etag: '"r"' });
    });
    const dir = await tempDir(t);
    const r = await runCli([server.url('/m.bin'), '-o', dir, ...FAST, '--plain']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout + r.stderr,
      /had Content-Length \d+ for Content-Range bytes \d+-\d+\/\d+ \(\d+ bytes\), so its bytes cannot be placed; restarting from zero/,
    );
    assert.equal(sha256(await readFile(join(dir, 'm.bin'))), sha256(body), 'byte-exact: nothing of the 206 was written past its range');
    assert.deepEqual(
      server.requests.map((q) => q.range ?? 'whole'),
      ['whole', server.requests[1]!.range!, 'whole'],
    );
  });
}
