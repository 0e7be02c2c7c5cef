import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { runCli, serve, sha256, startCli, tempDir, waitFor } from './helpers.ts';

const content = deterministicContent('file', 300_000);

it('A checksum mismatch fails and leaves no file under the final name, nor a .part.', async (t) => {
  const server = await serve(t, { files: [{ path: '/file.bin', content }] });
  const dir = await tempDir(t);
  const wrong = 'a'.repeat(64);
  const r = await runCli([server.url('/file.bin'), '-o', dir, '--checksum', `sha256=${wrong}`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`checksum mismatch for file\\.bin: expected sha256 ${wrong}, got ${sha256(content)}.*\\[TK_DL_CHECKSUM\\]`));
  assert.deepEqual(await readdir(dir), []);
});

it('Checksums per URL in an input file are verified before the rename.', async (t) => {
  const other = deterministicContent('other', 1000);
  const server = await serve(t, {
    files: [
      { path: '/file.bin', content },
      { path: '/other.bin', content: other },
    ],
  });
  const dir = await tempDir(t);
  const list = join(dir, 'urls.txt');
  await writeFile(
    list,
    `# two files\n${server.url('/file.bin')} sha256=${sha256(content).toUpperCase()}\n\n${server.url('/other.bin')}   sha256=${sha256(other)}\n`,
  );
  const r = await runCli(['-i', list, '-o', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.deepEqual(
    summary.files.map((f: { sha256: string }) => f.sha256),
    [sha256(content), sha256(other)],
  );
  assert.deepEqual((await readdir(dir)).sort(), ['file.bin', 'other.bin', 'urls.txt']);
});

it('An existing different file is not overwritten without --force, and is replaced with it.', async (t) => {
  const server = await serve(t, { files: [{ path: '/file.bin', content }] });
  const dir = await tempDir(t);
  const mine = Buffer.from('my own precious file');
  await writeFile(join(dir, 'file.bin'), mine);
  const r = await runCli([server.url('/file.bin'), '-o', dir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /file\.bin already exists with different content; it was kept — pass --force to replace it.*\[TK_DL_EXISTS\]/);
  assert.deepEqual(await readFile(join(dir, 'file.bin')), mine);
  assert.deepEqual(await readdir(dir), ['file.bin']);

  const forced = await runCli([server.url('/file.bin'), '-o', dir, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(sha256(await readFile(join(dir, 'file.bin'))), sha256(content));
});

it('An existing file of the same size but different bytes is detected after the download and kept.', async (t) => {
  const server = await serve(t, { files: [{ path: '/file.bin', content }] });
  const dir = await tempDir(t);
  const same = Buffer.alloc(content.length, 1);
  await writeFile(join(dir, 'file.bin'), same);
  const r = await runCli([server.url('/file.bin'), '-o', dir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\[TK_DL_EXISTS\]/);
  assert.deepEqual(await readFile(join(dir, 'file.bin')), same);
  assert.deepEqual(await readdir(dir), ['file.bin']);
});

it('A folder under the final name is refused before the body, with --force too, and is left as it was.', async (t) => {
  const server = await serve(t, { files: [{ path: '/file.bin', content }] });
  const dir = await tempDir(t);
  await mkdir(join(dir, 'file.bin'));
  await writeFile(join(dir, 'file.bin', 'inside'), 'mine');
  for (const extra of [[], ['--force'], ['--checksum', `sha256=${sha256(content)}`]]) {
    const r = await runCli([server.url('/file.bin'), '-o', dir, ...extra]);
    assert.equal(r.code, 1, extra.join(' '));
    assert.match(r.stderr, /file\.bin is a folder, which a download never replaces \(not even with --force\); remove or rename it.*\[TK_DL_EXISTS\]/);
    assert.deepEqual(await readdir(dir), ['file.bin']);
    assert.deepEqual(await readdir(join(dir, 'file.bin')), ['inside']);
  }
});

it('An existing file whose sha256 is not the one asked for names both digests, and is kept.', async (t) => {
  const server = await serve(t, { files: [{ path: '/file.bin', content }] });
  const dir = await tempDir(t);
  const mine = Buffer.from('my own precious file');
  await writeFile(join(dir, 'file.bin'), mine);
  const r = await runCli([server.url('/file.bin'), '-o', dir, '--checksum', `sha256:${sha256(content)}`]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(
      `file\\.bin already exists and its sha256 is ${sha256(mine)}, not the ${sha256(content)} asked for; it was kept — pass --force.*\\[TK_DL_EXISTS\\]`,
    ),
  );
  assert.deepEqual(await readFile(join(dir, 'file.bin')), mine);
  assert.deepEqual(await readdir(dir), ['file.bin']);
});

it('An existing identical file is left as it is and counts as success.', async (t) => {
  const server = await serve(t, { files: [{ path: '/file.bin', content }] });
  const dir = await tempDir(t);
  await writeFile(join(dir, 'file.bin'), content);
  const r = await runCli([server.url('/file.bin'), '-o', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).files[0].status, 'skipped');
  const r2 = await runCli([server.url('/file.bin'), '-o', dir, '--json', '--checksum', `sha256=${sha256(content)}`]);
  assert.equal(JSON.parse(r2.stdout).files[0].status, 'skipped');
  assert.deepEqual(await readdir(dir), ['file.bin']);
});

it('A redirect is followed and the file keeps the name of the URL given.', async (t) => {
  const server = await serve(t, { files: [{ path: '/store/v2/file.bin', content }], redirects: { '/latest/file.bin': '/store/v2/file.bin' } });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/latest/file.bin'), '-o', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    server.requests.map((q) => q.status),
    [302, 200],
  );
  assert.equal(sha256(await readFile(join(dir, 'file.bin'))), sha256(content));
});

it('Content-Disposition names the file, and a name with a path stays inside the output directory.', async (t) => {
  const server = await serve(t, {
    files: [
      { path: '/download', content, contentDisposition: `attachment; filename="report.pdf"; filename*=UTF-8''${encodeURIComponent('报告 2024.pdf')}` },
      { path: '/evil', content, contentDisposition: 'attachment; filename="../../escape.txt"' },
    ],
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/download'), server.url('/evil'), '-o', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await readdir(dir)).sort(), ['escape.txt', '报告 2024.pdf']);
});

it('Two URLs of one run that save to the same name do not overwrite each other.', async (t) => {
  const other = deterministicContent('other', content.length);
  const server = await serve(t, {
    files: [
      { path: '/a/file.bin', content, seconds: 0.5 },
      { path: '/b/file.bin', content: other, seconds: 0.5 },
    ],
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/a/file.bin'), server.url('/b/file.bin'), '-o', dir, '--json']);
  assert.equal(r.code, 1);
  // Whichever answer came first wins the name; the other fails without touching its file.
  const files = JSON.parse(r.stdout).files;
  const winner = files.findIndex((f: { status: string }) => f.status === 'done');
  const loser = files[1 - winner];
  assert.ok(winner >= 0);
  assert.equal(loser.error.code, 'TK_DL_NAME_TAKEN');
  assert.match(loser.error.message, /both save to file\.bin; download them into different -o directories/);
  assert.equal(sha256(await readFile(join(dir, 'file.bin'))), sha256(winner === 0 ? content : other));
  assert.deepEqual(await readdir(dir), ['file.bin']);
});

it('Two URLs of one run with the same name, one after the other: the second is refused, --force or not, in every worker model, and the first file stays.', async (t) => {
  const small = deterministicContent('first', 20_000);
  const large = deterministicContent('first-large', 400_000);
  const server = await serve(t, {
    files: [
      { path: '/a/s.bin', content: small },
      { path: '/b/s.bin', content: deterministicContent('second', 20_000) },
      { path: '/a/l.bin', content: large },
      { path: '/b/l.bin', content: deterministicContent('second-large', 400_000) },
    ],
  });
  for (const [first, second, name, bytes] of [
    ['/a/s.bin', '/b/s.bin', 's.bin', small],
    ['/a/l.bin', '/b/l.bin', 'l.bin', large],
  ] as const) {
    for (const flags of [[], ['--force']].flatMap((f) => ['auto', 'thread', 'process'].map((w) => [...f, '--workers', w]))) {
      const dir = await tempDir(t);
      // -j 1: the first is saved before the second starts, so nothing but the run's own record can tell.
      const r = await runCli([server.url(first), server.url(second), '-o', dir, '-j', '1', '--json', ...flags]);
      const what = `${name} ${flags.join(' ')}`;
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      const files = JSON.parse(r.stdout).files;
      assert.deepEqual(
        files.map((f: { status: string }) => f.status),
        ['done', 'failed'],
        what,
      );
      assert.equal(files[1].error.code, 'TK_DL_NAME_TAKEN', what);
      assert.match(files[1].error.message, new RegExp(`URL #1 of this run both save to ${name.replace('.', '\\.')}`), what);
      assert.equal(sha256(await readFile(join(dir, name))), sha256(bytes), `${what}: the first file is whole`);
      assert.deepEqual(await readdir(dir), [name], what);
    }
  }
});

it('A file that appears under the final name while the download runs (another run, another program) is never replaced without --force.', async (t) => {
  for (const size of [100_000, 2_000_000]) {
    const body = deterministicContent(`appear-${size}`, size);
    const server = await serve(t, { files: [{ path: '/x.bin', content: body, seconds: 1 }] });
    for (const [planted, code, status] of [
      [Buffer.from('written by someone else\n'), 1, 'failed'],
      [body, 0, 'skipped'],
    ] as const) {
      const dir = await tempDir(t);
      const { done } = startCli([server.url('/x.bin'), '-o', dir, '--json']);
      // The run has looked at the name (it asked for the file) before the body comes.
      await waitFor('the request', () => server.requests.filter((q) => q.path === '/x.bin').length > 0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await writeFile(join(dir, 'x.bin'), planted);
      const r = await done;
      const what = `${size} bytes, planted ${planted === body ? 'the same bytes' : 'other bytes'}`;
      assert.equal(r.code, code, `${what}: ${r.stderr}`);
      const [file] = JSON.parse(r.stdout).files;
      assert.equal(file.status, status, what);
      if (status === 'failed') {
        assert.equal(file.error.code, 'TK_DL_EXISTS', what);
        assert.match(file.error.message, /appeared while this download ran .* it was kept and this download was not saved/, what);
      }
      assert.deepEqual(await readFile(join(dir, 'x.bin')), planted, `${what}: what appeared is kept`);
      if (status === 'failed' && size > 256 * 1024) {
        // A whole .part is kept, and -c --force puts it in place without fetching the body again.
        assert.match(file.error.message, /it is whole in .*x\.bin\.part — run the same command with -c --force/, what);
        assert.deepEqual((await readdir(dir)).sort(), ['x.bin', 'x.bin.part', 'x.bin.part.meta'], what);
        server.requests.length = 0;
        const again = await runCli([server.url('/x.bin'), '-o', dir, '-c', '--force']);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(sha256(await readFile(join(dir, 'x.bin'))), sha256(body), `${what}: replaced with the download`);
        assert.deepEqual(
          server.requests.map((q) => q.range),
          [`bytes=${size}-`],
          `${what}: only asked whether there is more`,
        );
      }
      assert.deepEqual(await readdir(dir), ['x.bin'], `${what}: no .part or temporary file left`);
      server.requests.length = 0;
    }
  }
});

it('A saved-name mark another run left (its command still alive) does not block this run: it is taken over, and this run removes its own marks at the end.', async (t) => {
  const server = await serve(t, { files: [{ path: '/a/m.bin', content }] });
  const dir = await tempDir(t);
  // As a live `--workers thread` run leaves it on a name it saved: this test's pid, marked saved, another run id.
  await writeFile(join(dir, 'm.bin.part.lock'), `${process.pid} saved 0 another-run`);
  const r = await runCli([server.url('/a/m.bin'), '-o', dir, '--workers', 'thread', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).files[0].status, 'done');
  assert.equal(sha256(await readFile(join(dir, 'm.bin'))), sha256(content));
  assert.deepEqual(await readdir(dir), ['m.bin'], 'no lock is left behind, neither the other run’s nor this one’s');
});
