import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { DEMO_FILES, deterministicContent } from '../../dist/cli/download/demo-server.js';
import { runCli, sha256, tempDir } from './helpers.ts';

it('The demo downloads both files in parallel: the total is about the longest, not the sum.', async (t) => {
  const dir = await tempDir(t);
  const r = await runCli(['--demo', '--demo-seconds', '1,1', '-o', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.ok, true);
  assert.equal(summary.files.length, 2);
  for (const f of summary.files) assert.ok(f.seconds >= 0.9, `each file takes about 1 s, got ${f.seconds}`);
  // Two 1 s files one after another take 2 s; in parallel well under that.
  assert.ok(summary.totalSeconds < 1.9, `total ${summary.totalSeconds} s should be about the longest (1 s), not the sum`);
  assert.ok(summary.sumSeconds >= 1.8);
  for (const spec of DEMO_FILES) {
    const bytes = await readFile(join(dir, spec.name));
    assert.equal(sha256(bytes), sha256(deterministicContent(spec.name, spec.size, spec.header)), spec.name);
  }
});

it("The demo tells the seed's story: the worker's pid, the start and 'done in N s' per file, then the total and the sum.", async (t) => {
  const dir = await tempDir(t);
  const r = await runCli(['--demo', '--demo-seconds', '0.3,0.5', '-o', dir]);
  assert.equal(r.code, 0, r.stderr);
  for (const spec of DEMO_FILES) {
    assert.match(r.stdout, new RegExp(`\\[pid \\d+\\] started ${spec.name.replace('.', '\\.')}`));
    assert.match(r.stdout, new RegExp(`\\[pid \\d+\\] ${spec.name.replace('.', '\\.')} done in \\d+\\.\\d\\d s`));
  }
  assert.match(r.stdout, /Total: \d+\.\d\d s for 2 of 2 files/);
  assert.match(r.stdout, /would have taken \d+\.\d\d s \(the sum\)/);
  assert.equal(r.stderr, '');
});
