import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it, type TestContext } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { runCli, serve, sha256, tempDir } from './helpers.ts';

/**
 * A tmpfs of `size` on a fresh folder, unmounted after the test. A real small disk is the only
 * honest full disk, so mounting one is a precondition of these tests (root, as on CI and on the
 * project's machines); where it cannot be had the test fails saying why, rather than pass unseen.
 */
async function smallDisk(t: TestContext, size: string, extra = ''): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'threadkit-dl-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${extra}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`cannot mount a tmpfs (${String((err as Error).message).split('\n')[0]}): the disk-full tests need root (sudo npm test)`);
  }
  t.after(() => {
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return rm(dir, { recursive: true, force: true });
  });
  return dir;
}

it('A full disk fails at once as TK_DL_DISK_FULL naming the .part, keeps it, and -c after space is freed gives the exact file.', async (t) => {
  const content = deterministicContent('full', 5 * 1024 * 1024 + 99);
  const server = await serve(t, { files: [{ path: '/big.bin', content }] });
  for (const size of ['1m', '2m', '3m']) {
    const disk = await smallDisk(t, size);
    const before = server.requests.length;
    const r = await runCli([server.url('/big.bin'), '-o', disk, '--retry-wait', '0.01']);
    assert.equal(r.code, 1, r.stderr);
    const part = join(disk, 'big.bin.part');
    assert.match(
      r.stderr,
      new RegExp(
        `the disk is full: cannot write ${part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(ENOSPC\\); free some space and run the same command with -c to resume.*\\[TK_DL_DISK_FULL\\]`,
      ),
    );
    assert.doesNotMatch(r.stderr, /EIO|TK_DL_NETWORK|retrying/);
    assert.equal(server.requests.length - before, 1, 'a local error is not retried');
    const kept = (await stat(part)).size;
    assert.ok(kept > 0 && kept < content.length, `kept ${kept}`);

    execFileSync('mount', ['-o', 'remount,size=16m', disk], { stdio: 'pipe' });
    const again = await runCli(['-c', server.url('/big.bin'), '-o', disk]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(server.requests.at(-1)!.range, `bytes=${kept}-`);
    assert.equal(sha256(await readFile(join(disk, 'big.bin'))), sha256(content), `tmpfs of ${size}: byte-exact`);
  }
});

it('A read-only output folder, or a missing one under it, is TK_DL_READ_ONLY naming the folder; a name too long is TK_DL_NAME_TOO_LONG.', async (t) => {
  const disk = await smallDisk(t, '1m', ',ro');
  const server = await serve(t, { files: [{ path: '/a.bin', content: Buffer.alloc(10, 1) }] });
  for (const out of [disk, join(disk, 'missing', 'sub')]) {
    const r = await runCli([server.url('/a.bin'), '-o', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      // The folder that exists cannot be written in; the missing one cannot be created.
      new RegExp(
        `^threadkit download: the output folder is unusable: cannot ${out === disk ? 'write' : 'create'} .* the file system is read-only \\(EROFS\\); use -o to download elsewhere \\[TK_DL_READ_ONLY\\]\n$`,
      ),
    );
    assert.ok(r.stderr.includes(out), r.stderr);
  }
  assert.equal(server.requests.length, 0);
  const long = join(await tempDir(t), 'x'.repeat(300));
  const r = await runCli([server.url('/a.bin'), '-o', long]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /its name \(300 bytes\) is longer than the file system allows \(ENAMETOOLONG\) \[TK_DL_NAME_TOO_LONG\]/);
  const file = join(await tempDir(t), 'a-file');
  await writeFile(file, 'not a folder');
  const onFile = await runCli([server.url('/a.bin'), '-o', file]);
  assert.equal(onFile.code, 2, onFile.stderr);
  assert.equal(onFile.stderr, `threadkit download: the output folder is unusable: ${file} is a file, not a folder; give -o a folder [TK_DL_NO_FOLDER]\n`);
});

it('A folder the user may not write to is TK_DL_PERMISSION naming it, not retried.', async (t) => {
  const server = await serve(t, { files: [{ path: '/a.bin', content: Buffer.alloc(10, 1) }] });
  const dir = await tempDir(t);
  // Root writes through permission bits, so as root the command runs as nobody in root's own
  // folder (others may enter it, not write in it); as anyone else, in a folder made read-only
  // (it stays empty, so removing it needs no write permission in it).
  const root = process.getuid?.() === 0;
  await chmod(dir, root ? 0o755 : 0o555);
  const r = await runCli([server.url('/a.bin'), '-o', dir], root ? { uid: 65534, cwd: '/' } : {});
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `the output folder is unusable: permission denied: cannot write ${dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(EACCES\\).*\\[TK_DL_PERMISSION\\]`,
    ),
  );
  assert.equal(server.requests.length, 0);
});
