// A link planted in the output folder under a name a download writes (NAME.part, NAME.part.meta)
// is never written through: the file outside the folder stays as it was, and NAME ends up a
// file of its own with the server's bytes, with or without -c or --force.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { link, lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { exists, runCli, serve, sha256, tempDir } from './helpers.ts';

const content = deterministicContent('links', 1_000_000);
const PRECIOUS = 'precious data outside the output folder\n';

for (const planted of ['f.bin.part', 'f.bin.part.meta'])
  for (const kind of ['symbolic', 'hard'] as const)
    for (const flags of [[], ['-c'], ['--force']]) {
      it(`A ${kind} link planted at ${planted}${flags.length ? ` (${flags[0]})` : ''} is not written through.`, async (t) => {
        const server = await serve(t, { files: [{ path: '/f.bin', content }] });
        const outside = await tempDir(t);
        const dir = await tempDir(t);
        const victim = join(outside, 'victim.txt');
        await writeFile(victim, PRECIOUS);
        if (kind === 'symbolic') await symlink(victim, join(dir, planted));
        else await link(victim, join(dir, planted));
        const r = await runCli([server.url('/f.bin'), '-o', dir, ...flags]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await readFile(victim, 'utf8'), PRECIOUS, 'the file outside the folder is untouched');
        const saved = join(dir, 'f.bin');
        assert.ok((await lstat(saved)).isFile(), 'f.bin is a file of its own, not a link');
        assert.equal(sha256(await readFile(saved)), sha256(content));
        if (flags[0] === '-c' && planted === 'f.bin.part') assert.match(r.stdout + r.stderr, /never (writes through|writes into)/);
      });
    }

it('A server naming a file NAME.part or NAME.part.meta while NAME downloads in the same run: each is saved whole, under a name with a trailing _.', async (t) => {
  const big = deterministicContent('names-big', 2_000_000);
  const a = deterministicContent('names-a', 3000);
  const b = deterministicContent('names-b', 300);
  const server = await serve(t, {
    files: [
      { path: '/x.bin', content: big, seconds: 1 },
      { path: '/a.bin', content: a, contentDisposition: 'attachment; filename=x.bin.part' },
      { path: '/b.bin', content: b, contentDisposition: 'attachment; filename=x.bin.part.meta' },
    ],
  });
  for (const workers of ['auto', 'process']) {
    const dir = await tempDir(t);
    const r = await runCli([server.url('/a.bin'), server.url('/b.bin'), server.url('/x.bin'), '-o', dir, '--workers', workers]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(await readFile(join(dir, 'x.bin'))), sha256(big), workers);
    assert.deepEqual(await readFile(join(dir, 'x.bin.part_')), a, workers);
    assert.deepEqual(await readFile(join(dir, 'x.bin.part.meta_')), b, workers);
  }
});

it('With -c, a symbolic link planted at NAME.part of a small file is removed, not followed, and the file is saved whole.', async (t) => {
  const small = deterministicContent('links-small', 10_000);
  const server = await serve(t, { files: [{ path: '/s.bin', content: small }] });
  const outside = await tempDir(t);
  const dir = await tempDir(t);
  const victim = join(outside, 'victim.txt');
  await writeFile(victim, PRECIOUS);
  await symlink(victim, join(dir, 's.bin.part'));
  const r = await runCli(['-c', server.url('/s.bin'), '-o', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(victim, 'utf8'), PRECIOUS);
  assert.deepEqual(await readFile(join(dir, 's.bin')), small);
  assert.deepEqual(await readdir(dir), ['s.bin'], 'the link is gone');
});

// A FIFO where a download keeps its lock or its record used to hang the run for good (opening a
// FIFO waits for a writer), with Ctrl-C and SIGTERM unable to end it; a folder at the lock was
// reported as a network error.
for (const [planted, make, flags, expect] of [
  ['f.bin.part.lock', 'fifo', [], /f\.bin\.part\.lock is a FIFO, where this download keeps its lock file; remove or rename it.*\[TK_DL_EXISTS\]/],
  ['f.bin.part.lock', 'folder', [], /f\.bin\.part\.lock is a folder, where this download keeps its lock file.*\[TK_DL_EXISTS\]/],
  ['f.bin.part.meta', 'fifo', ['-c'], 'saved'],
] as const) {
  it(`A ${make} at ${planted}${flags.length ? ` (${flags[0]})` : ''}: the run ends at once, ${expect === 'saved' ? 'the record is taken as missing and the file is saved whole' : 'naming it as a local problem'}.`, async (t) => {
    const server = await serve(t, { files: [{ path: '/f.bin', content }] });
    const dir = await tempDir(t);
    const at = join(dir, planted);
    if (make === 'fifo') execFileSync('mkfifo', [at]);
    else await mkdir(at);
    if (flags[0] === '-c') await writeFile(join(dir, 'f.bin.part'), content.subarray(0, 1000));
    const started = performance.now();
    const r = await runCli([server.url('/f.bin'), '-o', dir, ...flags], { timeoutMs: 15_000 });
    assert.equal(r.signal, null, `it ended by itself (after ${Math.round(performance.now() - started)} ms)`);
    if (expect === 'saved') {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout + r.stderr, /record \(\.part\.meta\) is missing or unreadable; restarting from zero/);
      assert.equal(sha256(await readFile(join(dir, 'f.bin'))), sha256(content));
    } else {
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, expect);
      assert.equal(await exists(join(dir, 'f.bin')), false);
    }
  });
}

it("Lock files left by a run killed with -9 are removed by the next run into the folder; a live process's lock and other files stay.", async (t) => {
  const server = await serve(t, { files: [{ path: '/s.bin', content: content.subarray(0, 5000) }] });
  const dir = await tempDir(t);
  // A pid that is certainly gone: a child that has exited and been reaped.
  const dead = execFileSync(process.execPath, ['-p', 'process.pid'], { encoding: 'utf8' }).trim();
  await writeFile(join(dir, 'a.bin.part.lock'), `${dead} 0 3 oldrun`);
  await writeFile(join(dir, 'b.bin.part.lock'), `${process.pid} 0 4 liverun`);
  await writeFile(join(dir, 'notes.txt'), PRECIOUS);
  await mkdir(join(dir, 'c.bin.part.lock'));
  const r = await runCli([server.url('/s.bin'), '-o', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await readdir(dir)).sort(), ['b.bin.part.lock', 'c.bin.part.lock', 'notes.txt', 's.bin']);
});
