import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { deterministicContent, type ServedFile } from '../../dist/cli/download/demo-server.js';
import { runCli, serve, sha256, tempDir } from './helpers.ts';

const SIZE = 700_000;
const before = deterministicContent('version-1', SIZE);
const after = deterministicContent('version-2', SIZE);

/** Drops the first answer after 200 000 bytes; from the second request on the file is `after`. */
function changing(extra: Partial<ServedFile>): ServedFile {
  return { path: '/f.bin', content: before, changedContent: after, changeAfter: 1, dropAfter: 200_000, ...extra };
}

const cases: Array<[string, Partial<ServedFile>, RegExp]> = [
  ['ignores If-Range and answers 206 with the new ETag', { ignoreIfRange: true }, /its ETag changed from "\w+" to "\w+"/],
  ['has only Last-Modified and ignores If-Range', { validators: 'last-modified', ignoreIfRange: true }, /its Last-Modified changed from .* GMT to .* GMT/],
];

for (const [what, extra, reason] of cases) {
  it(`A file that changes between a drop and the resume, on a server that ${what}, is restarted from zero with one line saying why — never spliced.`, async (t) => {
    const server = await serve(t, { files: [changing(extra)] });
    const dir = await tempDir(t);
    const r = await runCli([server.url('/f.bin'), '-o', dir, '--retry-wait', '0.01']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(after), 'the new version, whole');
    const lines = r.stderr.split('\n').filter((l) => /restarting from zero/.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`f\\.bin: the file changed on the server: ${reason.source}; restarting from zero`));
    const [, resume, restart] = server.requests;
    assert.match(resume!.range ?? '', /^bytes=\d+-$/);
    assert.equal(restart!.range, undefined, 'the restart asks for the whole file');
    assert.equal(restart!.status, 200);
  });
}

it('A -c in a later run is held to the validators the first run recorded: a changed file restarts from zero.', async (t) => {
  const server = await serve(t, { files: [changing({ ignoreIfRange: true })] });
  const dir = await tempDir(t);
  const first = await runCli([server.url('/f.bin'), '-o', dir, '--retries', '0']);
  assert.equal(first.code, 1, 'the drop fails the only try');
  const again = await runCli(['-c', server.url('/f.bin'), '-o', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /the file changed on the server: its ETag changed/);
  assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(after));
});

// A server with only a weak ETag gets no Range either (faults.test.ts): it cannot prove the bytes are the same.
it('A server with no validators at all gets no Range: the retry restarts from zero, saying why.', async (t) => {
  const longer = Buffer.concat([before, Buffer.alloc(1000, 3)]);
  const server = await serve(t, {
    files: [{ path: '/f.bin', content: before, changedContent: longer, changeAfter: 1, dropAfter: 200_000, ignoreIfRange: true, validators: 'none' }],
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/f.bin'), '-o', dir, '--retry-wait', '0.01']);
  assert.equal(r.code, 0, r.stderr);
  // No validators at all: nothing can prove the bytes on disk are this version's, so no Range is even tried.
  assert.match(r.stderr, /cannot resume the \.part: the server gave no ETag or Last-Modified to check a resume against; restarting from zero/);
  assert.deepEqual(
    server.requests.map((q) => q.range),
    [undefined, undefined],
  );
  assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(longer));
});

it('A resume whose Content-Range total differs from the first answer restarts from zero.', async (t) => {
  const longer = Buffer.concat([before, Buffer.alloc(1000, 3)]);
  const server = await serve(t, {
    files: [{ path: '/f.bin', content: before, changedContent: longer, changeAfter: 1, dropAfter: 200_000, ignoreIfRange: true }],
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/f.bin'), '-o', dir, '--retry-wait', '0.01']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`the file changed on the server: its size changed from ${SIZE} to ${SIZE + 1000} bytes; restarting from zero`));
  assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(longer));
});
