import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { it, type TestContext } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { runCli, serve, sha256, tempDir } from './helpers.ts';
import { selfSigned, startProxy } from './tls-helpers.ts';

const SIZE = 900_000;

/** A server on 127.0.0.1 that accepts connections and never says a word; closed when `t` ends. */
async function silentServer(t: TestContext): Promise<{ port: number }> {
  const sockets = new Set<Socket>();
  const silent = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  return { port: (silent.address() as { port: number }).port };
}

it('https: an untrusted certificate is refused as TK_DL_TLS; --ca-certificate and NODE_EXTRA_CA_CERTS trust it.', async (t) => {
  const tls = await selfSigned(t);
  const content = deterministicContent('tls', SIZE);
  const server = await serve(t, { tls, files: [{ path: '/t.bin', content }] });
  const dir = await tempDir(t);
  const refused = await runCli([server.url('/t.bin'), '-o', dir, '--json']);
  assert.equal(refused.code, 1);
  const failed = JSON.parse(refused.stdout).files[0];
  assert.equal(failed.error.code, 'TK_DL_TLS');
  assert.equal(failed.attempts, 1, 'a TLS failure is not retried');
  assert.match(failed.error.message, /pass its certificate or its CA's with --ca-certificate FILE/);
  assert.doesNotMatch(failed.error.message, /--use-system-ca/, "Node's hint to restart Node is not the command's to give");

  // A damaged or cut certificate in the file is bad usage, named, not trusted in silence.
  const pem = await readFile(tls.certFile, 'utf8');
  for (const [text, why] of [
    [pem.replace(/\n(.{20})/, '\nAAAA$1'), /its certificate is damaged/],
    [pem.slice(0, pem.length - 40), /its certificate has no -----END CERTIFICATE----- line/],
    [`${pem}${pem.replace(/\n(.{20})/, '\n!!!!$1')}`, /certificate 2 of 2 is damaged/],
  ] as const) {
    const bad = join(dir, 'bad.pem');
    await writeFile(bad, text);
    const r = await runCli([server.url('/t.bin'), '-o', dir, '--ca-certificate', bad]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, why);
  }

  const withFlag = await runCli([server.url('/t.bin'), '-o', dir, '--ca-certificate', tls.certFile]);
  assert.equal(withFlag.code, 0, withFlag.stderr);
  assert.equal(sha256(await readFile(join(dir, 't.bin'))), sha256(content));

  const dir2 = await tempDir(t);
  const withEnv = await runCli([server.url('/t.bin'), '-o', dir2], { env: { NODE_EXTRA_CA_CERTS: tls.certFile } });
  assert.equal(withEnv.code, 0, withEnv.stderr);
  assert.equal(sha256(await readFile(join(dir2, 't.bin'))), sha256(content));
});

it('https:// to a server that speaks plain HTTP says so on one line, with the fix, and is not retried.', async (t) => {
  const server = await serve(t, { files: [{ path: '/p.bin', content: deterministicContent('plain', 1000) }] });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/p.bin').replace('http://', 'https://'), '-o', dir, '--json']);
  assert.equal(r.code, 1);
  const failed = JSON.parse(r.stdout).files[0];
  assert.equal(failed.error.code, 'TK_DL_TLS');
  assert.match(
    failed.error.message,
    /^TLS failed for https:\/\/127\.0\.0\.1:\d+\/p\.bin: the server does not speak TLS there \(ERR_SSL_\w+\); if it serves plain HTTP, use http:\/\/$/,
  );
  assert.equal(failed.attempts, 1);
  assert.deepEqual(await readdir(dir), []);
});

it('https: a dropped connection resumes byte-exact with Range, and a file changed meanwhile is restarted, not spliced.', async (t) => {
  const tls = await selfSigned(t);
  const content = deterministicContent('tls-drop', SIZE);
  const changed = deterministicContent('tls-new', SIZE);
  const server = await serve(t, {
    tls,
    files: [
      { path: '/drop.bin', content, dropAfter: 300_000 },
      { path: '/changes.bin', content, changedContent: changed, changeAfter: 1, dropAfter: 300_000, ignoreIfRange: true },
    ],
  });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/drop.bin'), server.url('/changes.bin'), '-o', dir, '--ca-certificate', tls.certFile, '--retry-wait', '0.01', '-j', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(await readFile(join(dir, 'drop.bin'))), sha256(content));
  assert.equal(sha256(await readFile(join(dir, 'changes.bin'))), sha256(changed));
  const drop = server.requests.filter((q) => q.path === '/drop.bin');
  assert.deepEqual(
    drop.map((q) => [q.range, q.status]),
    [
      [undefined, 200],
      ['bytes=300000-', 206],
    ],
  );
  assert.match(r.stderr, /changes\.bin: the file changed on the server: its ETag changed/);
});

it('HTTP_PROXY carries http: requests, HTTPS_PROXY tunnels https: with CONNECT, NO_PROXY goes direct.', async (t) => {
  const tls = await selfSigned(t);
  const content = deterministicContent('proxied', 200_000);
  const plain = await serve(t, { files: [{ path: '/p.bin', content }] });
  const secure = await serve(t, { tls, files: [{ path: '/s.bin', content }] });
  const proxy = await startProxy(t);
  const dir = await tempDir(t);
  const env = { HTTP_PROXY: proxy.url, https_proxy: proxy.url };
  const r = await runCli([plain.url('/p.bin'), secure.url('/s.bin'), '-o', dir, '--ca-certificate', tls.certFile], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(await readFile(join(dir, 'p.bin'))), sha256(content));
  assert.equal(sha256(await readFile(join(dir, 's.bin'))), sha256(content));
  const host = new URL(secure.url('/')).host;
  assert.deepEqual(proxy.lines.sort(), [`CONNECT ${host} HTTP/1.1`, `GET ${plain.url('/p.bin')} HTTP/1.1`].sort());

  const dir2 = await tempDir(t);
  const direct = await runCli([plain.url('/p.bin'), '-o', dir2], { env: { ...env, NO_PROXY: 'example.com,127.0.0.1' } });
  assert.equal(direct.code, 0, direct.stderr);
  assert.equal(proxy.lines.length, 2, 'NO_PROXY bypassed the proxy');

  const bad = await runCli([plain.url('/p.bin'), '-o', dir2], { env: { HTTP_PROXY: 'socks5://127.0.0.1:1' } });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /HTTP_PROXY='socks5:\/\/127\.0\.0\.1:1' uses socks5; only http:\/\/ proxies are supported/);
});

it('--connect-timeout fails a TLS handshake that never completes, after about that long.', async (t) => {
  const silent = await silentServer(t);
  const dir = await tempDir(t);
  const url = `https://127.0.0.1:${silent.port}/x`;
  const started = performance.now();
  const r = await runCli([url, '-o', dir, '--connect-timeout', '0.5', '--retries', '0', '--json']);
  const elapsed = performance.now() - started;
  assert.equal(r.code, 1);
  const failed = JSON.parse(r.stdout).files[0];
  assert.equal(failed.error.code, 'TK_DL_TIMEOUT');
  assert.match(failed.error.message, /could not connect to 127\.0\.0\.1:\d+ within 0\.5 s \(--connect-timeout\)/);
  assert.ok(elapsed >= 500 && elapsed < 5000, `${elapsed} ms`);
});

it('--connect-timeout fails a proxy that never answers CONNECT, as a time-out of that file only: no crash, the other file finishes.', async (t) => {
  const silent = await silentServer(t);
  const content = deterministicContent('beside-the-proxy', 300_000);
  const plain = await serve(t, { files: [{ path: '/p.bin', content, seconds: 1.5 }] });
  const dir = await tempDir(t);
  const proxy = `http://127.0.0.1:${silent.port}`;
  const started = performance.now();
  const r = await runCli(
    ['https://example.invalid/s.bin', plain.url('/p.bin'), '-o', dir, '--connect-timeout', '0.5', '--retries', '1', '--retry-wait', '0.01', '--json'],
    {
      env: { HTTPS_PROXY: proxy },
    },
  );
  const elapsed = performance.now() - started;
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  const [tunnelled, direct] = JSON.parse(r.stdout).files;
  assert.equal(tunnelled.status, 'failed');
  assert.equal(tunnelled.error.code, 'TK_DL_TIMEOUT');
  assert.match(tunnelled.error.message, /could not connect to the proxy 127\.0\.0\.1:\d+ within 0\.5 s \(--connect-timeout\)/);
  assert.equal(tunnelled.attempts, 2, 'retried once, as --retries 1 says');
  assert.equal(direct.status, 'done');
  assert.equal(sha256(await readFile(join(dir, 'p.bin'))), sha256(content));
  assert.ok(elapsed >= 1000, `${elapsed} ms: two tries of 0.5 s`);
});

it('Many small files share kept-alive connections: at most -j of them.', async (t) => {
  const files = Array.from({ length: 40 }, (_, i) => ({ path: `/s${i}.bin`, content: deterministicContent(`small-${i}`, 1000 + i * 397) }));
  const server = await serve(t, { files });
  const dir = await tempDir(t);
  const r = await runCli([...files.map((f) => server.url(f.path)), '-o', dir, '-j', '4', '-q']);
  assert.equal(r.code, 0, r.stderr);
  for (const f of files) assert.equal(sha256(await readFile(join(dir, f.path.slice(1)))), sha256(f.content), f.path);
  assert.equal(server.requests.length, 40);
  assert.ok(server.connections <= 4, `${server.connections} connections for 40 files`);
});

it('A proxy that refuses, does not resolve or hangs up is named as the proxy, not as the server.', async (t) => {
  const rude = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => rude.close(() => resolve())));
  const rudePort = (rude.address() as { port: number }).port;
  const dir = await tempDir(t);
  const cases: Array<[string, string, RegExp]> = [
    ['http://127.0.0.1:1', 'TK_DL_NETWORK', /cannot connect to the proxy 127\.0\.0\.1:1 \(ECONNREFUSED\); is it running\? \(HTTP_PROXY \/ HTTPS_PROXY\)/],
    ['http://proxy.invalid:3128', 'TK_DL_DNS', /cannot resolve the proxy's host proxy\.invalid \((ENOTFOUND|EAI_AGAIN)\); check HTTP_PROXY \/ HTTPS_PROXY/],
    [`http://127.0.0.1:${rudePort}`, 'TK_DL_NETWORK', new RegExp(`the proxy 127\\.0\\.0\\.1:${rudePort} closed the connection before answering`)],
  ];
  for (const [proxy, code, message] of cases) {
    const r = await runCli(['http://example.invalid/f.bin', '-o', dir, '--retries', '0', '--json'], { env: { HTTP_PROXY: proxy } });
    assert.equal(r.code, 1, r.stderr);
    const [failed] = JSON.parse(r.stdout).files;
    assert.equal(failed.error.code, code, proxy);
    assert.match(failed.error.message, message, proxy);
  }
});
