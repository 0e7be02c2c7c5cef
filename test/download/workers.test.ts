import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { it } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { exists, runCli, serve, sha256, startCli, tempDir, waitFor } from './helpers.ts';
import { shmLeftBy } from '../helpers/processes.ts';
import { selfSigned } from './tls-helpers.ts';

// The same contract for every worker model: the bytes, the resume after a dropped connection,
// the failure of the other file, and who ran each download.
for (const model of ['auto', 'inline', 'thread', 'process'] as const) {
  it(`With --workers ${model}, downloads resume after a drop, failures stay per file, and each result names its worker.`, async (t) => {
    const a = deterministicContent(`${model}-a`, 600_000);
    const b = deterministicContent(`${model}-b`, 300_000);
    const server = await serve(t, {
      files: [
        { path: '/a.bin', content: a, dropAfter: 200_000 },
        { path: '/b.bin', content: b },
      ],
    });
    const dir = await tempDir(t);
    const r = await runCli([server.url('/a.bin'), server.url('/b.bin'), server.url('/c.bin'), '-o', dir, '--workers', model, '--json', '--retry-wait', '0.01']);
    assert.equal(r.code, 1, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.workers, model);
    assert.deepEqual(
      s.files.map((f: { status: string }) => f.status),
      ['done', 'done', 'failed'],
    );
    assert.equal(s.files[0].attempts, 2, 'a.bin was resumed by a second try');
    assert.equal(sha256(await readFile(join(dir, 'a.bin'))), sha256(a));
    assert.equal(sha256(await readFile(join(dir, 'b.bin'))), sha256(b));
    const pids = new Set(s.files.map((f: { pid: number }) => f.pid));
    if (model === 'process') assert.equal(pids.size, 3, 'one process per file');
    else assert.equal(pids.size, 1, 'all in the CLI process');
    if (model === 'thread') assert.ok(s.files.every((f: { threadId: number }) => f.threadId > 0));
    // auto: nothing here is large, so every download stayed on the main thread.
    if (model === 'auto' || model === 'inline') assert.ok(s.files.every((f: { threadId: number }) => f.threadId === 0));
  });
}

// auto moves a body of 64 MiB or more to a download thread (HAND_OFF_BYTES in workers.ts).
const LARGE = 64 * 1024 * 1024 + 1;

it('With --workers auto (the default), a large file moves to a download thread and arrives whole; a small one stays on the main thread.', async (t) => {
  const big = deterministicContent('auto-big', LARGE);
  const small = deterministicContent('auto-small', 50_000);
  const server = await serve(t, {
    files: [
      { path: '/big.bin', content: big },
      { path: '/small.bin', content: small },
    ],
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/big.bin'), server.url('/small.bin'), '-o', dir, '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.workers, 'auto');
  assert.deepEqual(
    s.files.map((f: { status: string }) => f.status),
    ['done', 'done'],
  );
  assert.ok(s.files[0].threadId > 0, `big.bin ran on thread ${s.files[0].threadId}`);
  assert.equal(s.files[1].threadId, 0, 'small.bin stayed on the main thread');
  assert.equal(s.files[0].bytes, LARGE);
  assert.equal(sha256(await readFile(join(dir, 'big.bin'))), sha256(big));
  assert.equal(sha256(await readFile(join(dir, 'small.bin'))), sha256(small));
  // The main thread asked first, read the headers and let go; the download thread asked again.
  const asks = server.requests.filter((q) => q.path === '/big.bin');
  assert.equal(asks.length, 2);
  assert.equal(asks[1]!.range, undefined, 'the download thread starts from the beginning');
  assert.deepEqual((await readdir(dir)).sort(), ['big.bin', 'small.bin'], 'no .part, .meta or .lock is left');
});

it('With --workers auto, Ctrl-C stops a download on a download thread, keeps its .part, and -c resumes it byte-exact.', async (t) => {
  const big = deterministicContent('auto-sigint', LARGE);
  const server = await serve(t, {
    files: [
      { path: '/big.bin', content: big, seconds: 4 },
      { path: '/other.bin', content: big },
    ],
  });
  const dir = await tempDir(t);
  const part = join(dir, 'big.bin.part');
  const { child, done } = startCli([server.url('/big.bin'), server.url('/other.bin'), '-o', dir], { timeoutMs: 60_000 });
  t.after(() => child.kill('SIGKILL'));
  await waitFor('the .part file to grow past 1 MiB', async () => (await stat(part).catch(() => ({ size: 0 }))).size > 1024 * 1024, 20_000);
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stdout, /\[pid \d+ thread [1-9]\d*\] big\.bin interrupted; kept .*big\.bin\.part/);
  assert.equal(await exists(join(dir, 'big.bin')), false);
  assert.equal(await exists(`${part}.lock`), false, 'the lock is released');
  const kept = (await stat(part)).size;
  assert.ok(kept > 1024 * 1024 && kept < LARGE, `kept ${kept}`);

  const again = await runCli(['-c', server.url('/big.bin'), '-o', dir, '--json'], { timeoutMs: 60_000 });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(server.requests.at(-1)!.range, `bytes=${kept}-`, 'a resume stays where it started (it is not moved)');
  assert.equal(sha256(await readFile(join(dir, 'big.bin'))), sha256(big));
});

it('With --workers auto, a large and a small file that save to one name: one fails with TK_DL_NAME_TAKEN, the other is whole.', async (t) => {
  const big = deterministicContent('auto-name-big', LARGE);
  const small = deterministicContent('auto-name-small', 20_000);
  const server = await serve(t, {
    files: [
      { path: '/a/same.bin', content: big, seconds: 1 },
      { path: '/b/same.bin', content: small },
    ],
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/a/same.bin'), server.url('/b/same.bin'), '-o', dir, '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, r.stderr);
  const s = JSON.parse(r.stdout);
  const statuses = s.files.map((f: { status: string }) => f.status).sort();
  assert.deepEqual(statuses, ['done', 'failed']);
  const failed = s.files.find((f: { status: string }) => f.status === 'failed');
  assert.equal(failed.error.code, 'TK_DL_NAME_TAKEN');
  const done = s.files.find((f: { status: string }) => f.status === 'done');
  assert.equal(sha256(await readFile(join(dir, 'same.bin'))), sha256(done.id === 0 ? big : small));
});

it('With --workers auto, a large file saved by a download thread keeps its name for the run: a later URL with that name is refused, even with --force.', async (t) => {
  const big = deterministicContent('auto-kept-big', LARGE);
  const server = await serve(t, {
    files: [
      { path: '/a/same.bin', content: big },
      // Keeps the other slot busy, so that /b/same.bin starts only once /a/same.bin is saved.
      { path: '/slow.bin', content: deterministicContent('auto-kept-slow', 10_000), seconds: 3 },
      { path: '/b/same.bin', content: deterministicContent('auto-kept-small', 20_000) },
    ],
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/a/same.bin'), server.url('/slow.bin'), server.url('/b/same.bin'), '-o', dir, '-j', '2', '--force', '--json'], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 1, r.stderr);
  const files = JSON.parse(r.stdout).files;
  assert.deepEqual(
    files.map((f: { status: string }) => f.status),
    ['done', 'done', 'failed'],
  );
  assert.ok(files[0].threadId > 0, 'the large file went to a download thread');
  assert.equal(files[2].error.code, 'TK_DL_NAME_TAKEN');
  assert.equal(sha256(await readFile(join(dir, 'same.bin'))), sha256(big));
});

it('With -c, a large download that restarts from zero (the .part is longer than the file) stays on the main thread, with its lock, and is whole.', async (t) => {
  const content = deterministicContent('auto-restart', LARGE);
  const small = deterministicContent('auto-restart-small', 10_000);
  const server = await serve(t, {
    files: [
      { path: '/big.bin', content },
      { path: '/small.bin', content: small },
    ],
  });
  const dir = await tempDir(t);
  // A .part from an earlier run that is longer than the file now is: the server answers 416.
  const stale = LARGE + 1024 * 1024;
  await writeFile(join(dir, 'big.bin.part'), Buffer.alloc(stale, 1));
  await writeFile(join(dir, 'big.bin.part.meta'), JSON.stringify({ url: server.url('/big.bin'), ...server.validatorsOf('/big.bin'), total: stale }));
  const r = await runCli(['-c', server.url('/big.bin'), server.url('/small.bin'), '-o', dir, '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(
    s.files.map((f: { status: string }) => f.status),
    ['done', 'done'],
  );
  assert.equal(s.files[0].threadId, 0, 'a restarted download is not moved');
  assert.equal(sha256(await readFile(join(dir, 'big.bin'))), sha256(content));
  assert.deepEqual((await readdir(dir)).sort(), ['big.bin', 'small.bin']);
});

it('With --workers thread, the run’s --ca-certificate reaches every download thread once, however large, and -j 40 downloads over https all finish.', async (t) => {
  const tls = await selfSigned(t);
  const files = Array.from({ length: 40 }, (_, i) => ({ path: `/f${i}.bin`, content: deterministicContent(`ca-${i}`, 3000) }));
  const server = await serve(t, { tls, files });
  const dir = await tempDir(t);
  // ≈ 300 KB of PEM (a system bundle is ≈ 220 KB): 20 jobs a lane carrying it each would not fit its inbox.
  const bundle = join(dir, 'bundle.pem');
  await writeFile(bundle, tls.cert.repeat(250));
  const out = join(dir, 'out');
  const r = await runCli([...files.map((f) => server.url(f.path)), '-o', out, '-j', '40', '--workers', 'thread', '--ca-certificate', bundle, '--json'], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.files.filter((f: { status: string }) => f.status === 'done').length, 40);
  assert.ok(s.files.every((f: { threadId: number }) => f.threadId > 0));
  for (const f of files.slice(0, 3)) assert.equal(sha256(await readFile(join(out, f.path.slice(1)))), sha256(f.content));
});

// The hand-off asks the server again; what a single request would save (--workers inline or
// thread) is what auto saves: the name the first answer gave, and the redirect target the first
// request reached (a redirect that answers once, then 404, used to fail the hand-off).
it("With --workers auto, a large download whose second answer names another file is saved whole under the first answer's name.", async (t) => {
  let requests = 0;
  let redirected = false;
  const server = createServer((req, res) => {
    if (req.url === '/once') {
      // A one-time link: it redirects once, then is gone.
      res.writeHead(redirected ? 404 : 302, redirected ? {} : { location: '/x' });
      redirected = true;
      return void res.end();
    }
    requests++;
    const name = requests === 1 ? 'first.bin' : 'second.bin';
    res.writeHead(200, { 'content-length': String(LARGE), 'content-disposition': `attachment; filename="${name}"` });
    const chunk = Buffer.alloc(1024 * 1024, 7);
    let sent = 0;
    const pump = () => {
      while (sent < LARGE) {
        const n = Math.min(chunk.length, LARGE - sent);
        sent += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('error', () => {});
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.after(() => server.closeAllConnections());
  const { port } = server.address() as AddressInfo;
  const small = await serve(t, { files: [{ path: '/small.bin', content: deterministicContent('named-small', 1000) }] });
  const dir = await tempDir(t);
  const r = await runCli([`http://127.0.0.1:${port}/once`, small.url('/small.bin'), '-o', dir, '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(
    s.files.map((f: { status: string; threadId: number }) => [f.status, f.threadId > 0]),
    [
      ['done', true],
      ['done', false],
    ],
    'the large one moved to a download thread, the small one stayed',
  );
  assert.equal(s.files[0].url, `http://127.0.0.1:${port}/once`, 'the result names the URL given');
  assert.equal(requests, 2, 'the target was asked twice, the one-time redirect once');
  assert.equal((await stat(join(dir, 'first.bin'))).size, LARGE);
  assert.deepEqual((await readdir(dir)).sort(), ['first.bin', 'small.bin']);
});

it('With --workers auto, SIGKILL while two large files download on download threads, then -c: each resumes at its .part size and ends byte-exact.', async (t) => {
  const a = deterministicContent('auto-kill-a', LARGE);
  const b = deterministicContent('auto-kill-b', LARGE + 13);
  const server = await serve(t, {
    files: [
      { path: '/a.bin', content: a, seconds: 3 },
      { path: '/b.bin', content: b, seconds: 3 },
    ],
  });
  const dir = await tempDir(t);
  const urls = [server.url('/a.bin'), server.url('/b.bin')];
  const { child, done } = startCli(['-c', ...urls, '-o', dir, '--ndjson'], { timeoutMs: 60_000 });
  t.after(() => child.kill('SIGKILL'));
  // The kill lands once both downloads began on a download thread (their second start), mid-body.
  let out = '';
  child.stdout!.on('data', (s: string) => (out += s));
  // Only complete lines: the last chunk may end inside one.
  const onThread = () =>
    out
      .slice(0, out.lastIndexOf('\n') + 1)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; threadId?: number })
      .filter((e) => e.type === 'start' && (e.threadId ?? 0) > 0).length;
  await waitFor('both downloads to start on download threads', () => onThread() === 2, 30_000);
  await waitFor('both .part files to grow past 1 MiB', async () => {
    const sizes = await Promise.all(
      ['a.bin', 'b.bin'].map((n) =>
        stat(join(dir, `${n}.part`)).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    return sizes.every((n) => n > 1024 * 1024);
  });
  await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
  child.kill('SIGKILL');
  const killed = await done;
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);

  const kept = await Promise.all(['a.bin', 'b.bin'].map(async (n) => (await stat(join(dir, `${n}.part`))).size));
  for (const [i, size] of kept.entries()) assert.ok(size > 1024 * 1024 && size < LARGE, `${i === 0 ? 'a' : 'b'}.bin.part kept ${size} bytes`);
  const before = server.requests.length;
  const r = await runCli(['-c', ...urls, '-o', dir, '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  // The .part is written in order, so its size is the resume point: no hole, nothing asked twice.
  const asked = server.requests
    .slice(before)
    .map((q) => `${q.path} ${q.range}`)
    .sort();
  assert.deepEqual(asked, [`/a.bin bytes=${kept[0]}-`, `/b.bin bytes=${kept[1]}-`]);
  assert.equal(sha256(await readFile(join(dir, 'a.bin'))), sha256(a), 'a.bin is byte-exact');
  assert.equal(sha256(await readFile(join(dir, 'b.bin'))), sha256(b), 'b.bin is byte-exact');
  assert.deepEqual((await readdir(dir)).sort(), ['a.bin', 'b.bin'], 'no .part, .meta or .lock is left');
  // The killed run's /dev/shm file (its thread table) goes when the next threadkit program starts its runtime.
  assert.deepEqual(await shmLeftBy([child.pid!]), []);
});
