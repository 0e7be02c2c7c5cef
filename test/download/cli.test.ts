import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { runCli, serve, tempDir } from './helpers.ts';

it('--json prints one summary object with the documented shape and nothing else.', async (t) => {
  const content = deterministicContent('json', 50_000);
  const server = await serve(t, { files: [{ path: '/json.bin', content }] });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/json.bin'), server.url('/nope'), '-o', dir, '--json']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, '');
  const s = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(s).sort(), [
    'bytes',
    'exitCode',
    'failed',
    'files',
    'interrupted',
    'jobs',
    'longestSeconds',
    'ok',
    'outputDir',
    'sumSeconds',
    'totalSeconds',
    'workers',
  ]);
  assert.equal(s.ok, false);
  assert.equal(s.exitCode, 1);
  assert.equal(s.failed, 1);
  assert.equal(s.outputDir, dir);
  assert.equal(s.bytes, content.length);
  const [done, failed] = s.files;
  assert.equal(done.status, 'done');
  assert.equal(done.name, 'json.bin');
  assert.equal(done.bytes, content.length);
  assert.equal(typeof done.pid, 'number');
  assert.equal(typeof done.seconds, 'number');
  assert.equal(done.resumedFrom, 0);
  assert.equal(failed.status, 'failed');
  assert.deepEqual(failed.error, { code: 'TK_DL_HTTP_STATUS', message: `HTTP 404 Not Found for ${server.url('/nope')}; check the URL`, status: 404 });
});

it('--ndjson prints one event per line: start, response, progress, a result per file, then the summary.', async (t) => {
  const content = deterministicContent('nd', 50_000);
  const server = await serve(t, { files: [{ path: '/nd.bin', content }] });
  const dir = await tempDir(t);
  const r = await runCli([server.url('/nd.bin'), '-o', dir, '--ndjson']);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const types = events.map((e) => e.type);
  assert.deepEqual([types[0], types[1], types.at(-2), types.at(-1)], ['start', 'response', 'result', 'summary']);
  assert.ok(types.includes('progress'));
  assert.equal(events[1].total, content.length);
  assert.equal(events.at(-1).ok, true);
  assert.equal(events.at(-2).sha256, undefined);
});

it('-q prints nothing for a good run and only the failures for a bad one.', async (t) => {
  const content = deterministicContent('q', 1000);
  const server = await serve(t, { files: [{ path: '/q.bin', content }] });
  const dir = await tempDir(t);
  const ok = await runCli([server.url('/q.bin'), '-o', dir, '-q']);
  assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, '', '']);
  const bad = await runCli([server.url('/missing'), '-o', dir, '-q']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /^1 of 1 download failed:\n {2}http.*missing: HTTP 404/);
});

it('Bad usage exits 2 with one line naming the problem and the fix.', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /no URL given; pass one or more URLs, -i FILE, or --demo/],
    [['--frobnicate', 'http://x/'], /Unknown option '--frobnicate'/],
    [['-j', '0', 'http://x/'], /-j\/--jobs expects a whole number from 1 to 256, got '0'/],
    [['--workers', 'fibers', 'http://x/'], /--workers expects one of auto, inline, thread, process, got 'fibers'/],
    [['--checksum', 'sha256=abc', 'http://x/'], /--checksum: expected sha256=<64 hex digits>, got 'sha256=abc'/],
    [['--checksum', `sha256=${'0'.repeat(64)}`, 'http://x/a', 'http://x/b'], /--checksum applies to a single URL, got 2/],
    [['-i', '/nonexistent/urls.txt'], /cannot read the input file '\/nonexistent\/urls.txt' \(ENOENT\)/],
    [['--demo', 'http://x/'], /--demo downloads its own files/],
    [['--json', '--quiet', 'http://x/'], /--json, --ndjson and --quiet exclude each other; pick one/],
    [['--demo', '--demo-seconds', '1,x'], /--demo-seconds expects seconds above 0/],
    [['http://[::1/x'], /'http:\/\/\[::1\/x' is not a valid URL; give a full http:\/\/ or https:\/\/ URL/],
    [['ftp://example.invalid/x'], /'ftp:\/\/example.invalid\/x' uses ftp:, which is not supported; use http:\/\/ or https:\/\//],
    [['file:///etc/passwd'], /'file:\/\/\/etc\/passwd' uses file:, which is not supported/],
    // No scheme: the URL it was most likely meant to be, or -i for a file of URLs.
    [['localhost:8080/x.bin'], /'localhost:8080\/x\.bin' has no scheme; give a full URL, such as 'http:\/\/localhost:8080\/x\.bin'/],
    [['example.com/x.iso'], /'example\.com\/x\.iso' has no scheme; give a full URL, such as 'https:\/\/example\.com\/x\.iso'/],
    [['/etc/passwd'], /'\/etc\/passwd' is a file, not a URL; to download the URLs listed in it, use -i \/etc\/passwd/],
    [['--ca-certificate', '/nonexistent/ca.pem', 'https://x/'], /cannot read the --ca-certificate file '\/nonexistent\/ca.pem' \(ENOENT\)/],
    [['--connect-timeout', '0', 'http://x/'], /--connect-timeout expects a number of seconds from 0.001 up to 2147483 \(24 days\), got '0'/],
    // A negative number is the option's value (parseArgs alone calls it "ambiguous").
    [['-j', '-1', 'http://x/'], /-j\/--jobs expects a whole number from 1 to 256, got '-1'/],
    [['--timeout', '-1', 'http://x/'], /--timeout expects a number of seconds from 0.001 up to 2147483 \(24 days\), got '-1'/],
    [['--timeout', '0.0001', 'http://x/'], /--timeout expects a number of seconds from 0.001 up to 2147483 \(24 days\), got '0.0001'/],
    [['--retries', '-1', 'http://x/'], /--retries expects a whole number from 0 to 1000, got '-1'/],
    [['--max-redirects', '-3', 'http://x/'], /--max-redirects expects a whole number from 0 to 100, got '-3'/],
    // Past what a Node timer holds (2^31 - 1 ms), a time-out would fire at once.
    [['--connect-timeout', '3000000', 'http://x/'], /--connect-timeout expects a number of seconds from 0.001 up to 2147483 \(24 days\), got '3000000'/],
  ];
  await Promise.all(
    cases.map(async ([args, message]) => {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      if (!args.includes('--json')) assert.equal(r.stdout, '');
      const [line, hint, rest] = r.stderr.split('\n');
      assert.match(line!, new RegExp(`^threadkit download: ${message.source}`));
      assert.equal(hint, "Run 'threadkit download --help' for the options.");
      assert.equal(rest, '');
    }),
  );
});

it('With --json or --ndjson, a run refused with exit 2 still prints its one object: ok false, exitCode 2, the error, no files.', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'a-file');
  await writeFile(file, 'x');
  for (const [args, code] of [
    [['--json', 'ftp://example.invalid/x'], 'TK_DL_USAGE'],
    [['--json', '-j', '0', 'http://x/'], 'TK_DL_USAGE'],
    [['--json'], 'TK_DL_USAGE'],
    [['--json', '-o', file, 'http://x/'], 'TK_DL_NO_FOLDER'],
  ] as const) {
    const r = await runCli([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    assert.deepEqual([out.ok, out.exitCode, out.error.code, out.files], [false, 2, code, []], args.join(' '));
    assert.ok(r.stderr.includes(out.error.message), `${args.join(' ')}: stderr names the same problem`);
  }
  const r = await runCli(['--ndjson', 'ftp://example.invalid/x']);
  assert.equal(r.code, 2);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => [l.type, l.exitCode, l.error.code]),
    [['summary', 2, 'TK_DL_USAGE']],
  );
});

it('--help prints the options and exits 0.', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  for (const option of ['--jobs', '--workers', '--continue', '--checksum', '--json', '--ndjson', '--demo', 'Exit status']) {
    assert.ok(r.stdout.includes(option), option);
  }
  // Each network option with its default.
  assert.match(r.stdout, /--timeout SEC[^\n]*\(default: 30\)/);
  assert.match(r.stdout, /--connect-timeout SEC[\s\S]*?\(default: 10\)/);
  assert.match(r.stdout, /--ca-certificate FILE[\s\S]*?\(default: Node's roots, plus NODE_EXTRA_CA_CERTS when set\)/);
  assert.match(r.stdout, /HTTPS_PROXY[\s\S]*NO_PROXY[\s\S]*Default: no proxy\./);
});

it('A URL given twice (as an argument and in -i) is downloaded once, with a note, and exits 0; two checksums for it are bad usage.', async (t) => {
  const content = deterministicContent('twice', 50_000);
  const server = await serve(t, { files: [{ path: '/twice.bin', content }] });
  const dir = await tempDir(t);
  const list = join(dir, 'urls.txt');
  await writeFile(list, `${server.url('/twice.bin')}\n${server.url('/twice.bin')}#again\n`);
  const r = await runCli([server.url('/twice.bin'), '-i', list, '-o', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, `threadkit download: ${server.url('/twice.bin')} is given 3 times; downloading it once\n`);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(
    s.files.map((f: { status: string }) => f.status),
    ['done'],
  );
  assert.equal(server.requests.length, 1, 'one request');
  assert.deepEqual(await readFile(join(dir, 'twice.bin')), content);

  await writeFile(list, `${server.url('/twice.bin')} sha256=${'a'.repeat(64)}\n${server.url('/twice.bin')} sha256=${'b'.repeat(64)}\n`);
  const bad = await runCli(['-i', list, '-o', dir]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /is given twice with different checksums \(sha256 a{64} and b{64}\); keep the right one/);
});

it('A password in a URL is never printed: errors, results and JSON show user:***@.', async (t) => {
  const server = await serve(t, { files: [] });
  const dir = await tempDir(t);
  const url = server.url('/missing.bin').replace('http://', 'http://user:s3cret@');
  for (const mode of [['--plain'], ['--json'], ['--ndjson']]) {
    const r = await runCli([url, '-o', dir, ...mode]);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret/, mode[0]);
    assert.match(r.stdout + r.stderr, /user:\*\*\*@127\.0\.0\.1/, mode[0]);
  }
});
