import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { runCli, serve, sha256, tempDir } from './helpers.ts';
import { startProxy } from './tls-helpers.ts';

const content = deterministicContent('secret', 200_000);
const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

it('A user name and password in the URL are sent as Basic authorization, percent-decoded, and never printed.', async (t) => {
  const server = await serve(t, { files: [{ path: '/secret.bin', content, basicAuth: 'ann:p@ss:word' }] });
  const dir = await tempDir(t);
  const url = server.url('/secret.bin').replace('://', '://ann:p%40ss%3Aword@');
  const r = await runCli([url, '-o', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(await readFile(join(dir, 'secret.bin'))), sha256(content));
  assert.deepEqual(
    server.requests.map((q) => q.authorization),
    [basic('ann:p@ss:word')],
  );
  assert.doesNotMatch(r.stdout + r.stderr, /p%40ss/);
  assert.match(JSON.parse(r.stdout).files[0].url, /ann:\*\*\*@/);
});

it('Without credentials, or with wrong ones, a 401 says how to give them, and leaves no file.', async (t) => {
  const server = await serve(t, { files: [{ path: '/secret.bin', content, basicAuth: 'ann:pw' }] });
  const dir = await tempDir(t);
  for (const url of [server.url('/secret.bin'), server.url('/secret.bin').replace('://', '://ann:wrong@')]) {
    const r = await runCli([url, '-o', dir, '--retries', '0']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /HTTP 401 Unauthorized for .*the server wants credentials: put USER:PASSWORD@ in front of the host in the URL.*\[TK_DL_HTTP_STATUS\]/,
    );
  }
  assert.deepEqual(await readdir(dir), []);
});

it('Credentials follow a redirect to the same origin, never one to another host, and never reach a proxy.', async (t) => {
  const elsewhere = await serve(t, { files: [{ path: '/moved.bin', content }] });
  const server = await serve(t, {
    files: [{ path: '/here.bin', content, basicAuth: 'ann:pw' }],
    redirects: { '/same': '/here.bin', '/away': elsewhere.url('/moved.bin') },
  });
  const dir = await tempDir(t);
  const withUser = (path: string) => server.url(path).replace('://', '://ann:pw@');
  const r = await runCli([withUser('/same'), withUser('/away'), '-o', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    server.requests.map((q) => [q.path, q.status, q.authorization]).sort(),
    [
      ['/same', 302, basic('ann:pw')],
      ['/here.bin', 200, basic('ann:pw')],
      ['/away', 302, basic('ann:pw')],
    ].sort(),
  );
  assert.deepEqual(
    elsewhere.requests.map((q) => [q.path, q.authorization]),
    [['/moved.bin', undefined]],
  );
  assert.deepEqual((await readdir(dir)).sort(), ['away', 'same']);

  // Through a proxy, the request line is the URL without its user name and password.
  const proxy = await startProxy(t);
  const dir2 = await tempDir(t);
  const proxied = await runCli([withUser('/here.bin'), '-o', dir2], { env: { HTTP_PROXY: proxy.url } });
  assert.equal(proxied.code, 0, proxied.stderr);
  assert.deepEqual(proxy.lines, [`GET ${server.url('/here.bin')} HTTP/1.1`]);
  assert.equal(server.requests.at(-1)?.authorization, basic('ann:pw'));
});

it('Credentials are sent as their bytes: UTF-8 escapes decoded, a % that starts no escape kept, never an error.', async (t) => {
  const server = await serve(t, { files: [{ path: '/secret.bin', content, basicAuth: '50%zz:€uro' }] });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/secret.bin').replace('://', '://50%zz:%E2%82%ACuro@'), '-o', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(server.requests[0]?.authorization, basic('50%zz:€uro'));
  assert.equal(sha256(await readFile(join(dir, 'secret.bin'))), sha256(content));
});

it("A large file moved to a download thread keeps the URL's credentials across a same-origin redirect to an absolute URL.", async (t) => {
  const large = deterministicContent('secret-large', 64 * 1024 * 1024 + 1);
  const server = await serve(t, {
    files: [
      { path: '/big.bin', content: large, basicAuth: 'ann:pw' },
      { path: '/small.bin', content, basicAuth: 'ann:pw' },
    ],
    redirects: {},
  });
  // An absolute Location, without the credentials, on the same origin.
  (server as unknown as { redirects: Record<string, string> }).redirects['/a'] = server.url('/big.bin');
  const dir = await tempDir(t);
  const auth = (path: string) => server.url(path).replace('://', '://ann:pw@');
  const r = await runCli([auth('/a'), auth('/small.bin'), '-o', dir, '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const files = JSON.parse(r.stdout).files;
  assert.ok(files[0].threadId > 0, 'the large one moved to a download thread');
  assert.equal(sha256(await readFile(join(dir, 'a'))), sha256(large));
  assert.ok(
    server.requests.filter((q) => q.path === '/big.bin').every((q) => q.authorization === basic('ann:pw')),
    'every request of the target carried the credentials',
  );
});
