import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { exists, runCli, serve, sha256, startCli, tempDir, waitFor } from './helpers.ts';

const SIZE = 1024 * 1024 + 333;

it('A connection dropped mid-file is resumed with Range from the bytes on disk, giving the exact bytes.', async (t) => {
  const content = deterministicContent('dropped', SIZE);
  const server = await serve(t, { files: [{ path: '/dropped.bin', content, dropAfter: 300_000 }] });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/dropped.bin'), '-o', dir, '--retry-wait', '0.01']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(await readFile(join(dir, 'dropped.bin'))), sha256(content));
  assert.equal(server.requests.length, 2);
  const [first, second] = server.requests;
  assert.equal(first!.range, undefined);
  assert.equal(first!.bytesSent, 300_000);
  // Resumed from what reached the disk, not from 0.
  assert.match(second!.range ?? '', /^bytes=\d+-$/);
  const from = Number(/\d+/.exec(second!.range!)![0]);
  // Every byte received before the drop reached the file (flushed, not thrown away).
  assert.equal(from, 300_000);
  assert.equal(second!.status, 206);
  assert.equal(second!.bytesSent, SIZE - from);
  // The server's ETag from the first answer validates the resume.
  assert.equal(second!.ifRange?.startsWith('"'), true);
  assert.match(r.stderr, /retrying in/);
  assert.equal(await exists(join(dir, 'dropped.bin.part')), false);
  assert.equal(await exists(join(dir, 'dropped.bin.part.meta')), false);
});

it('A downloader killed with SIGKILL mid-download and restarted with -c completes with the right bytes, requesting only the rest.', async (t) => {
  const content = deterministicContent('killed', 2 * SIZE);
  const server = await serve(t, { files: [{ path: '/killed.bin', content, seconds: 2 }] });
  const dir = await tempDir(t);
  const part = join(dir, 'killed.bin.part');
  const { child, done } = startCli([server.url('/killed.bin'), '-o', dir]);
  t.after(() => child.kill('SIGKILL'));
  await waitFor('the .part file to grow past 256 KiB', async () => (await stat(part).catch(() => ({ size: 0 }))).size > 256 * 1024);
  child.kill('SIGKILL');
  const killed = await done;
  assert.equal(killed.signal, 'SIGKILL');
  const have = (await stat(part)).size;
  assert.ok(have > 0 && have < content.length);

  const r = await runCli(['-c', server.url('/killed.bin'), '-o', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(await readFile(join(dir, 'killed.bin'))), sha256(content));
  const last = server.requests.at(-1)!;
  assert.equal(last.range, `bytes=${have}-`);
  assert.equal(last.status, 206);
  assert.equal(last.bytesSent, content.length - have);
  // The validator saved in the .part.meta of the first run went along as If-Range.
  assert.ok(last.ifRange, 'If-Range was sent');
  assert.match(r.stdout, /resuming at/);
  assert.equal(await exists(part), false);
});

it('A server that ignores Range answers 200, and the download restarts cleanly from zero.', async (t) => {
  const content = deterministicContent('ignores', SIZE);
  const server = await serve(t, { files: [{ path: '/ignores.bin', content, dropAfter: 400_000, ignoreRange: true }] });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/ignores.bin'), '-o', dir, '--retry-wait', '0.01']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(await readFile(join(dir, 'ignores.bin'))), sha256(content));
  assert.equal(server.requests.length, 2);
  assert.ok(server.requests[1]!.range, 'the retry asked for a Range');
  assert.equal(server.requests[1]!.status, 200);
  assert.equal(server.requests[1]!.bytesSent, SIZE);
});

it('Without -c a stale .part is overwritten from zero; with -c it is resumed when its record matches, and restarted with a reason when it has none.', async (t) => {
  const content = deterministicContent('stale', SIZE);
  const server = await serve(t, { files: [{ path: '/stale.bin', content }] });
  const dir = await tempDir(t);
  await writeFile(join(dir, 'stale.bin.part'), Buffer.alloc(1000, 7));
  const r = await runCli([server.url('/stale.bin'), '-o', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(server.requests[0]!.range, undefined);
  assert.equal(sha256(await readFile(join(dir, 'stale.bin'))), sha256(content));

  const dir2 = await tempDir(t);
  await writeFile(join(dir2, 'stale.bin.part'), content.subarray(0, 1000));
  await writeFile(join(dir2, 'stale.bin.part.meta'), JSON.stringify({ url: server.url('/stale.bin'), ...server.validatorsOf('/stale.bin'), total: SIZE }));
  const r2 = await runCli(['--continue', server.url('/stale.bin'), '-o', dir2]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(server.requests[1]!.range, 'bytes=1000-');
  assert.equal(sha256(await readFile(join(dir2, 'stale.bin'))), sha256(content));

  // A .part without its record: nothing says which version of the file it holds.
  const dir3 = await tempDir(t);
  await writeFile(join(dir3, 'stale.bin.part'), Buffer.alloc(1000, 7));
  const r3 = await runCli(['--continue', server.url('/stale.bin'), '-o', dir3]);
  assert.equal(r3.code, 0, r3.stderr);
  assert.equal(server.requests[2]!.range, undefined);
  assert.match(r3.stderr, /stale\.bin: cannot resume the \.part: its record \(\.part\.meta\) is missing or unreadable; restarting from zero/);
  assert.equal(sha256(await readFile(join(dir3, 'stale.bin'))), sha256(content));
});

it('Ctrl-C stops the downloads, keeps their .part files, says how to resume and exits 130; -c then finishes them.', async (t) => {
  const content = deterministicContent('sigint', 2 * SIZE);
  const server = await serve(t, { files: [{ path: '/sigint.bin', content, seconds: 2 }] });
  const dir = await tempDir(t);
  const part = join(dir, 'sigint.bin.part');
  const { child, done } = startCli([server.url('/sigint.bin'), '-o', dir]);
  t.after(() => child.kill('SIGKILL'));
  await waitFor('the .part file to grow past 128 KiB', async () => (await stat(part).catch(() => ({ size: 0 }))).size > 128 * 1024);
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stdout, /sigint\.bin interrupted; kept .*sigint\.bin\.part/);
  assert.match(r.stderr, /Interrupted; 1 \.part file kept: run the same command with -c to resume\./);
  assert.equal(await exists(join(dir, 'sigint.bin')), false);
  assert.equal(await exists(`${part}.lock`), false, 'the lock is released');
  const kept = (await stat(part)).size;
  // What was written is what arrived: at least what we saw, at most what the server sent (some may
  // still have been in flight in socket buffers at Ctrl-C); the resume then asks for exactly the rest.
  assert.ok(kept > 128 * 1024 && kept <= server.requests[0]!.bytesSent, `kept ${kept} of ${server.requests[0]!.bytesSent} sent`);

  const again = await runCli(['-c', server.url('/sigint.bin'), '-o', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(server.requests[1]!.range, `bytes=${kept}-`);
  assert.equal(sha256(await readFile(join(dir, 'sigint.bin'))), sha256(content));
});

it('With -c a .part that is already complete is renamed after a 416 answer, without downloading it again.', async (t) => {
  const content = deterministicContent('complete', 5000);
  const server = await serve(t, { files: [{ path: '/complete.bin', content }] });
  const dir = await tempDir(t);
  await writeFile(join(dir, 'complete.bin.part'), content);
  await writeFile(
    join(dir, 'complete.bin.part.meta'),
    JSON.stringify({ url: server.url('/complete.bin'), ...server.validatorsOf('/complete.bin'), total: 5000 }),
  );
  const r = await runCli(['-c', server.url('/complete.bin'), '-o', dir, '--checksum', `sha256=${sha256(content)}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    server.requests.map((q) => [q.range, q.status, q.bytesSent]),
    [['bytes=5000-', 416, 0]],
  );
  assert.equal(sha256(await readFile(join(dir, 'complete.bin'))), sha256(content));
  assert.equal(await exists(join(dir, 'complete.bin.part')), false);
});
