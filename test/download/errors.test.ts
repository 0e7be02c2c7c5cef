import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { exists, runCli, serve, sha256, startCli, tempDir, waitFor } from './helpers.ts';

it('A 404 fails with exit code 1 and a clear message, while the other file completes.', async (t) => {
  const content = deterministicContent('ok', 200_000);
  const server = await serve(t, { files: [{ path: '/ok.bin', content }] });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/missing.bin'), server.url('/ok.bin'), '-o', dir, '--retry-wait', '0.01']);
  assert.equal(r.code, 1);
  assert.equal(sha256(await readFile(join(dir, 'ok.bin'))), sha256(content));
  assert.match(r.stderr, /1 of 2 downloads failed:/);
  assert.match(r.stderr, /missing\.bin: HTTP 404 Not Found for .*missing\.bin; check the URL \[TK_DL_HTTP_STATUS\]/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  // A permanent error is not retried.
  assert.equal(server.requests.filter((q) => q.path === '/missing.bin').length, 1);
  assert.deepEqual(await readdir(dir), ['ok.bin']);
});

it('A 500 is retried with backoff and the download then succeeds.', async (t) => {
  const content = deterministicContent('flaky', 100_000);
  const server = await serve(t, { files: [{ path: '/flaky.bin', content, failTimes: 2, failStatus: 500 }] });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/flaky.bin'), '-o', dir, '--retry-wait', '0.01', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.files[0].attempts, 3);
  assert.deepEqual(
    server.requests.map((q) => q.status),
    [500, 500, 200],
  );
  assert.equal(sha256(await readFile(join(dir, 'flaky.bin'))), sha256(content));
});

it('A 429 waits for Retry-After before the next try.', async (t) => {
  const content = deterministicContent('busy', 1000);
  const server = await serve(t, { files: [{ path: '/busy.bin', content, failTimes: 1, failStatus: 429, retryAfter: 1 }] });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/busy.bin'), '-o', dir, '--retry-wait', '0.01', '--ndjson']);
  assert.equal(r.code, 0, r.stderr);
  const retry = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .find((e) => e.type === 'retry');
  assert.equal(retry.delayMs, 1000);
  assert.equal(retry.error.status, 429);
  assert.match(retry.error.message, /HTTP 429 .*the server is limiting how often it is asked; wait before trying again/);
});

it('Retries give up after --retries tries with a failure naming the last error.', async (t) => {
  const server = await serve(t, { files: [{ path: '/down.bin', content: Buffer.alloc(10), failTimes: 100, failStatus: 503 }] });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/down.bin'), '-o', dir, '--retries', '2', '--retry-wait', '0.01']);
  assert.equal(r.code, 1);
  assert.equal(server.requests.length, 3);
  assert.match(r.stderr, /HTTP 503 .*\[TK_DL_HTTP_STATUS\]/);
});

it('A refused connection is retried, then reported as a network error.', async (t) => {
  const dir = await tempDir(t);
  const r = await runCli(['http://127.0.0.1:1/nothing', '-o', dir, '--retries', '1', '--retry-wait', '0.01', '--json']);
  assert.equal(r.code, 1);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.files[0].error.code, 'TK_DL_NETWORK');
  assert.match(summary.files[0].error.message, /connection refused/);
  assert.equal(summary.files[0].attempts, 2);
});

it('The output folder removed while a file downloads: a local error naming the folder, at once, not a dropped connection retried.', async (t) => {
  const content = deterministicContent('vanishing', 3_000_000);
  const server = await serve(t, { files: [{ path: '/v.bin', content, seconds: 1.5 }] });
  const parent = await tempDir(t);
  const dir = join(parent, 'out');
  await mkdir(dir);
  for (const workers of ['auto', 'thread']) {
    await mkdir(dir, { recursive: true });
    const { done } = startCli([server.url('/v.bin'), '-o', dir, '--workers', workers, '--retry-wait', '0.01']);
    await waitFor('the .part', () => exists(join(dir, 'v.bin.part')));
    await rm(dir, { recursive: true, force: true });
    const r = await done;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /the output folder .*out was removed while v\.bin downloaded; nothing was saved .*\[TK_DL_NO_FOLDER\]/, workers);
    assert.doesNotMatch(r.stdout + r.stderr, /retrying|connection closed/, `${workers}: not taken for a drop`);
  }
  assert.equal(server.requests.filter((q) => q.path === '/v.bin').length, 2, 'one request per run');
});

it('ENOTDIR and ENOENT are told apart on disk: a file where a folder of -o should be, a file that cannot be removed, a folder that is missing.', async (t) => {
  const { localFileError } = await import('../../dist/cli/download/errors.js');
  const dir = await tempDir(t);
  const file = join(dir, 'a-file');
  await writeFile(file, 'x');
  const r = await runCli(['http://127.0.0.1:9/x', '-o', join(file, 'sub')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot create .*a-file\/sub: .*a-file is a file, not a folder \(ENOTDIR\); use -o with a folder \[TK_DL_NO_FOLDER\]/);
  // Node's rm reports ENOTDIR for an immutable file it could not unlink (it tries rmdir next).
  const enotdir = Object.assign(new Error('ENOTDIR'), { code: 'ENOTDIR' });
  const stuck = localFileError(enotdir, file, 'create');
  assert.equal(stuck.code, 'TK_DL_PERMISSION');
  assert.match(stuck.message, /it exists and cannot be replaced or removed \(ENOTDIR\); check its permissions and attributes/);
  const missing = localFileError(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }), join(dir, 'gone', 'x.part'), 'create');
  assert.equal(missing.code, 'TK_DL_NO_FOLDER');
  assert.match(missing.message, /its folder does not exist \(ENOENT\)/);
});
