import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { httpError } from '../../dist/cli/download/http-answers.js';
import { bypassed } from '../../dist/cli/download/proxy.js';

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
    /HTTP 407 Proxy Authentication Required .*the proxy wants credentials: give them in the proxy variable, as http:\/\/USER:PASSWORD@HOST:PORT/,
  );
});
