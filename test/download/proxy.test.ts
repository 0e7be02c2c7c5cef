import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { httpError } from '../../dist/cli/download/http-answers.js';
import { bypassed } from '../../dist/cli/download/proxy.js';
import { runCli, tempDir } from './helpers.ts';
import { rawServer } from './raw-server.ts';

it('NO_PROXY: a name covers its subdomains; an IP address, an IPv6 address and a port match only themselves.', () => {
  const direct = (url: string, noProxy: string) => bypassed(new URL(url), noProxy);
  assert.equal(direct('http://example.com/', 'example.com'), true);
  assert.equal(direct('http://a.example.com/', '.example.com'), true);
  assert.equal(direct('http://a.example.com/', 'example.com'), true);
  assert.equal(direct('http://badexample.com/', 'example.com'), false);
  assert.equal(direct('http://127.0.0.1/', '127.0.0.1'), true);
  assert.equal(direct('http://127.0.0.1/', '0.1'), false, '127.0.0.1 is not under "0.1"');
  assert.equal(direct('http://10.0.0.1/', '0.0.1'), false);
  assert.equal(direct('http://[::1]:8080/', '::1'), true);
  assert.equal(direct('http://127.0.0.1:8080/', '127.0.0.1:9090'), false);
  assert.equal(direct('http://127.0.0.1:8080/', '127.0.0.1:8080'), true);
  assert.equal(direct('http://anything/', '*'), true);
});

it('A proxy that wants credentials (407) is named as such, with the form of the fix.', () => {
  const e = httpError(407, { statusMessage: 'Proxy Authentication Required', headers: {} } as never, 'http://example.com/a');
  assert.equal(e.code, 'TK_DL_HTTP_STATUS');
  assert.equal(e.transient, false);
  assert.match(
    e.message,
    /HTTP 407 Proxy Authentication Required .*the proxy wants credentials: give them in the proxy variable, as http:\/\/USER:PASSWORD@HOST:PORT \(or check the ones given\)/,
  );
});

it('A proxy that answers CONNECT with 407 is named with the fix, saying whether credentials were given.', async (t) => {
  const proxy = await rawServer(t, (_req, socket) => socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n'));
  const dir = await tempDir(t);
  const base = new URL(proxy.url('/'));
  for (const [proxyUrl, says] of [
    [`http://${base.host}`, 'none were given'],
    [`http://u:wrong@${base.host}`, 'the ones given were refused'],
  ] as const) {
    const r = await runCli(['https://example.invalid/x', '-o', dir, '--retries', '0', '--json'], { env: { HTTPS_PROXY: proxyUrl } });
    assert.equal(r.code, 1, r.stderr);
    const failed = JSON.parse(r.stdout).files[0];
    assert.match(
      failed.error.message,
      new RegExp(
        `refused to connect to example\\.invalid:443: HTTP/1\\.1 407 .*give them in the proxy variable, as http://USER:.*@${base.host.replace(/\./g, '\\.')} \\(${says}\\)`,
      ),
    );
    assert.doesNotMatch(r.stdout + r.stderr, /wrong/, 'the password is never printed');
  }
});
